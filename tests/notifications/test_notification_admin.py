"""The outbox in the admin: read only, unsent messages with their errors, filtered by delivery."""

from django.utils import timezone

from findings.models import Notification
from tests.notifications.smtp import queue_messages


def test_it_lists_unsent_messages_with_their_error_and_filters_by_delivery(admin_client):
    sent, failing = queue_messages(2)
    Notification.objects.filter(pk=sent.pk).update(sent_at=timezone.now(), attempts=1)
    Notification.objects.filter(pk=failing.pk).update(
        attempts=3, last_error="SMTPDataError: (451, b'Mail system temporarily unavailable')"
    )

    everything = admin_client.get("/admin/findings/notification/").content.decode()
    unsent = admin_client.get("/admin/findings/notification/?sent=no").content.decode()
    delivered = admin_client.get("/admin/findings/notification/?sent=yes").content.decode()

    assert "signer0" in everything and "signer1" in everything
    assert "Mail system temporarily unavailable" in unsent
    assert "signer1" in unsent and "signer0" not in unsent
    assert "signer0" in delivered and "signer1" not in delivered


def test_it_lets_nobody_add_change_or_delete_a_message(admin_client):
    (notification,) = queue_messages(1)

    assert admin_client.get("/admin/findings/notification/add/").status_code == 403
    change = admin_client.post(
        f"/admin/findings/notification/{notification.pk}/change/", {"subject": "Changed"}
    )
    delete = admin_client.post(
        f"/admin/findings/notification/{notification.pk}/delete/", {"post": "yes"}
    )

    assert (change.status_code, delete.status_code) == (403, 403)
    notification.refresh_from_db()
    assert notification.subject == "Phase 2A was signed off"
