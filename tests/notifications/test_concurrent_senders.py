"""Two senders at once, each in its own thread and transaction, on PostgreSQL."""

import pytest

from findings.models import Notification
from findings.services.delivery import notification_message_id, notifications_send_due
from tests.concurrency.threads import run_together
from tests.notifications.smtp import queue_messages

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_two_senders_never_send_one_message_twice(smtp_server):
    queued = queue_messages(30)

    counts = run_together(2, lambda index, barrier: notifications_send_due())

    assert sum(count.sent for count in counts) == 30, counts
    assert smtp_server.mailbox.message_ids() == {
        notification_message_id(notification): 1 for notification in queued
    }
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
