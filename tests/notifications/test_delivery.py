"""Delivering the outbox to a real SMTP server: each message once, retried after an outage."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from findings.models import Notification
from findings.services.delivery import (
    DeliveryCount,
    notification_message_id,
    notifications_send_due,
    retry_delay,
)
from tests.notifications.smtp import queue_messages

pytestmark = pytest.mark.django_db


def test_it_delivers_each_queued_message_once_and_marks_it_sent(smtp_server, settings):
    settings.SITE_URL = "https://tracker.example.org"
    queued = queue_messages(3)

    count = notifications_send_due()

    assert (count.sent, count.failed) == (3, 0)
    received = smtp_server.mailbox.messages
    assert [message["To"] for message in received] == [n.to_address for n in queued]
    for notification, message in zip(queued, received, strict=True):
        assert message["Message-ID"] == notification_message_id(notification)
        assert message["Message-ID"].endswith("@tracker.example.org>")
        assert message["Subject"] == "Phase 2A was signed off"
        assert message["From"] == settings.DEFAULT_FROM_EMAIL
        assert message.get_content().splitlines() == [
            "lead signed phase 2A off.",
            "",
            "https://tracker.example.org/phases/2A/",
        ]
    for notification in Notification.objects.all():
        assert notification.sent_at is not None
        assert (notification.attempts, notification.claimed_until) == (1, None)


def test_it_sends_nothing_again_once_sent(smtp_server):
    queue_messages(2)
    notifications_send_due()

    count = notifications_send_due()

    assert (count.sent, count.failed) == (0, 0)
    assert len(smtp_server.mailbox.messages) == 2


def test_it_leaves_a_message_that_is_not_due_yet(smtp_server):
    (notification,) = queue_messages(1)
    Notification.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=1))

    notifications_send_due()

    assert smtp_server.mailbox.messages == []
    notification.refresh_from_db()
    assert (notification.attempts, notification.sent_at) == (0, None)


@pytest.mark.parametrize(
    ("outage", "error"),
    [("stopped", "ConnectionRefusedError"), ("answers 451", "SMTPDataError")],
)
def test_it_retries_an_outage_later_and_then_delivers_once(smtp_server, outage, error):
    queued = queue_messages(2)
    if outage == "stopped":
        smtp_server.stop()
    else:
        smtp_server.mailbox.refusal = "451 4.3.0 Mail system temporarily unavailable"
    before = timezone.now()

    failed = notifications_send_due()

    assert (failed.sent, failed.failed) == (0, 2)
    assert smtp_server.mailbox.messages == []
    for notification in Notification.objects.all():
        assert notification.sent_at is None
        assert notification.claimed_until is None
        assert notification.attempts == 1
        assert notification.last_error.startswith(error)
        assert notification.next_attempt_at >= before + timedelta(seconds=30)
    # Not due yet: a sender polling again at once leaves them waiting.
    assert notifications_send_due() == DeliveryCount(sent=0, failed=0)

    if outage == "stopped":
        smtp_server.start()
    smtp_server.mailbox.refusal = None
    Notification.objects.update(next_attempt_at=timezone.now())
    delivered = notifications_send_due()

    assert (delivered.sent, delivered.failed) == (2, 0)
    assert smtp_server.mailbox.message_ids() == {
        notification_message_id(notification): 1 for notification in queued
    }
    for notification in Notification.objects.all():
        assert notification.sent_at is not None
        assert (notification.attempts, notification.last_error) == (2, "")


def test_it_keeps_retrying_hourly_after_many_failures(smtp_server):
    (notification,) = queue_messages(1)
    Notification.objects.update(attempts=40)
    smtp_server.stop()
    before = timezone.now()

    notifications_send_due()

    notification.refresh_from_db()
    assert notification.attempts == 41
    assert notification.sent_at is None
    assert before + timedelta(hours=1) <= notification.next_attempt_at
    assert notification.next_attempt_at <= timezone.now() + timedelta(hours=1)


def test_it_doubles_the_wait_from_30_seconds_up_to_an_hour():
    waits = [retry_delay(attempts).total_seconds() for attempts in (1, 2, 3, 7, 8, 500)]

    assert waits == [30, 60, 120, 1920, 3600, 3600]


def test_the_command_sends_what_is_due_once_and_says_so(smtp_server, capsys):
    queue_messages(2)

    call_command("send_notifications", "--once")

    assert capsys.readouterr().out == "2 sent, 0 failed (retried later).\n"
    assert len(smtp_server.mailbox.messages) == 2
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
