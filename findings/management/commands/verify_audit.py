from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from findings.audit_chain import chain_holds, chain_verify, logged_newest_append


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain; exit non-zero at the first altered or missing event. "
        "With --log, also prove the database still holds the newest event the app's log saw."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--log",
            type=Path,
            metavar="FILE",
            help="the app's JSON log, whose domainflow.audit lines record each append",
        )

    def handle(self, *args, log: Path | None, **options):
        logged = self._newest_logged_append(log) if log is not None else None
        intact, chain_break = chain_verify()
        if chain_break is None and logged is not None:
            chain_break = chain_holds(*logged)
        if chain_break is not None:
            raise CommandError(
                f"The audit trail is broken at {chain_break}. {intact} events before it are intact."
            )
        self.stdout.write(f"The audit trail is intact: {intact} events, each chained to the last.")
        if logged is not None:
            self.stdout.write(f"It still holds #{logged[0]}, the newest event {log} saw.")

    def _newest_logged_append(self, log: Path) -> tuple[int, str]:
        try:
            with log.open(encoding="utf-8", errors="replace") as lines:
                logged = logged_newest_append(lines)
        except OSError as error:
            raise CommandError(f"Cannot read the log {log}: {error.strerror}.") from None
        if logged is None:
            raise CommandError(
                f"{log} records no append to the audit trail (no domainflow.audit lines): "
                "is it the app's log?"
            )
        return logged
