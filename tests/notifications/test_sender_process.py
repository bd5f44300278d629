"""`manage.py send_notifications` as a process of its own: killed mid-send, stopped by SIGTERM.

The sender runs against the test database, so these tests commit (transactional_db) and need
PostgreSQL: pytest-django's SQLite test database lives in this process's memory. The sender
logs in as the app's own role, as under `make serve`.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from findings.models import Notification
from findings.services.delivery import notification_message_id
from tests.notifications.smtp import queue_messages

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def sender(app_role: str, smtp_port: int, *arguments: str) -> subprocess.Popen:
    database = connection.settings_dict
    environment = {
        **{name: value for name, value in os.environ.items() if name != "DEBUG"},
        "DATABASE_URL": (
            f"postgres://{app_role}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "send_notifications", *arguments],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_once(app_role: str, smtp_port: int) -> subprocess.CompletedProcess:
    process = sender(app_role, smtp_port, "--once")
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_a_sender_killed_after_the_server_accepted_resends_only_that_message(smtp_server, app_role):
    first, victim, last = queue_messages(3)
    running: dict[str, subprocess.Popen] = {}

    def kill_the_sender_before_answering(message):
        # The server holds the message's DATA; the sender dies before it hears "250".
        if message["Message-ID"] == notification_message_id(victim) and running:
            process = running.pop("sender")
            process.send_signal(signal.SIGKILL)
            process.wait(TIMEOUT)

    smtp_server.mailbox.on_data = kill_the_sender_before_answering
    running["sender"] = process = sender(app_role, smtp_server.port, "--once")

    assert process.wait(TIMEOUT) == -signal.SIGKILL, process.stderr.read()
    victim.refresh_from_db()
    assert victim.sent_at is None and victim.attempts == 1
    assert victim.claimed_until > timezone.now()

    # Within the lease the next sender leaves the claimed message alone.
    assert run_once(app_role, smtp_server.port).stdout == "1 sent, 0 failed (retried later).\n"
    assert not Notification.objects.filter(pk=victim.pk, sent_at__isnull=False).exists()

    # The lease expires (as it would after five minutes): the message is sent again.
    Notification.objects.filter(pk=victim.pk).update(claimed_until=timezone.now())
    assert run_once(app_role, smtp_server.port).stdout == "1 sent, 0 failed (retried later).\n"

    assert smtp_server.mailbox.message_ids() == {
        notification_message_id(first): 1,
        notification_message_id(victim): 2,
        notification_message_id(last): 1,
    }
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    victim.refresh_from_db()
    assert (victim.attempts, victim.claimed_until) == (2, None)


def test_a_looping_sender_delivers_and_stops_cleanly_on_sigterm(smtp_server, app_role):
    (notification,) = queue_messages(1)
    process = sender(app_role, smtp_server.port, "--interval", "0.2")
    deadline = time.monotonic() + TIMEOUT
    while not Notification.objects.filter(sent_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the sender delivered nothing"
        time.sleep(0.1)
    # A message queued while it waits goes out on a later poll.
    (later,) = queue_messages(1, name="latecomer")
    while not Notification.objects.filter(pk=later.pk, sent_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the sender stopped polling"
        time.sleep(0.1)

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=TIMEOUT)

    assert process.returncode == 0
    assert '"message": "notification sender stopped"' in stderr
    assert smtp_server.mailbox.message_ids() == {
        notification_message_id(notification): 1,
        notification_message_id(later): 1,
    }
