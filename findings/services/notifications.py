"""The notification outbox: messages written in the transaction of the change they tell of.

A message exists exactly when its change committed: a rolled-back change leaves none, and a
committed one cannot lose its message to a mail server being down. `manage.py
send_notifications` delivers them afterwards, so sending never slows or fails a request.
"""

from collections.abc import Iterable

from django.conf import settings
from django.urls import reverse

from findings.models import Notification, NotificationKind, NotificationSetting, Phase


def phase_link(phase: Phase) -> str:
    """The phase page's absolute address, for a message read outside the site."""
    return settings.SITE_URL.rstrip("/") + reverse("phase_detail", args=[phase.code])


def notifications_queue(
    *, kind: NotificationKind, phase: Phase, recipients: Iterable, subject: str, body: str
) -> list[Notification]:
    """Queue one message per recipient who has an email address and has not turned `kind` off.

    Call it inside the change's transaction. Two queries (one when nobody is to receive it).
    """
    recipients = {user.pk: user for user in recipients if user.email}
    if not recipients:
        return []
    turned_off = set(
        NotificationSetting.objects.filter(
            user_id__in=recipients, kind=kind, enabled=False
        ).values_list("user_id", flat=True)
    )
    body = f"{body.rstrip()}\n\n{phase_link(phase)}\n"
    return Notification.objects.bulk_create(
        Notification(
            recipient=user,
            to_address=user.email,
            kind=kind,
            phase=phase,
            subject=subject,
            body=body,
        )
        for pk, user in sorted(recipients.items())
        if pk not in turned_off
    )
