import signal
import threading
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from findings.services.delivery import LEASE, logger, notifications_send_due


def positive_seconds(value: str) -> float:
    seconds = float(value)
    if not seconds > 0:
        raise ValueError(value)
    return seconds


class Command(BaseCommand):
    help = (
        "Send the queued notification emails (findings.services.delivery says how): with --once, "
        "what is due now; otherwise keep polling until SIGTERM or SIGINT."
    )
    # It runs as the app's role (scripts/serve), which may not read django_migrations as the
    # trigger check does; the tables' owner runs the checks before the server starts.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
        parser.add_argument(
            "--interval",
            type=positive_seconds,
            default=5.0,
            metavar="SECONDS",
            help="seconds between polls for due messages (default 5)",
        )
        parser.add_argument(
            "--lease",
            type=positive_seconds,
            default=LEASE.total_seconds(),
            metavar="SECONDS",
            help="how long a claimed message is this sender's before another may send it "
            f"again (default {LEASE.total_seconds():.0f})",
        )

    def handle(self, *args, once: bool, interval: float, lease: float, **options):
        lease = timedelta(seconds=lease)
        if once:
            try:
                count = notifications_send_due(lease=lease)
            except DatabaseError as error:
                raise CommandError(f"Cannot read the outbox: {error}") from None
            self.stdout.write(f"{count.sent} sent, {count.failed} failed (retried later).")
            return
        stopping = threading.Event()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda number, frame: stopping.set())
        logger.info("notification sender started, polling every %s s", interval)
        while not stopping.is_set():
            close_old_connections()
            try:
                notifications_send_due(lease=lease, should_stop=stopping.is_set)
            except DatabaseError:
                # The database may be restarting: the messages wait in it, so try again later
                # rather than leave the server without a sender.
                logger.exception("notification sender cannot read the outbox")
            stopping.wait(interval)
        logger.info("notification sender stopped")
