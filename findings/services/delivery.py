"""Delivering the notification outbox by email: what `manage.py send_notifications` runs.

Each message goes through three steps, one message at a time:

1. Claim, in a short transaction: pick one due message (unsent, its next attempt due, nobody's
   claim on it or the claim expired), locked with SKIP LOCKED on PostgreSQL so that another
   sender passes over it; set `claimed_until` to now plus a lease and count the attempt; commit.
   On SQLite the transaction itself takes the database's write lock (settings' IMMEDIATE mode),
   so senders claim one after another.
2. Send, outside any transaction, through Django's email framework, with a Message-ID made from
   the message's id and creation time and the site's domain: every attempt at one message
   carries the same Message-ID.
3. Mark it sent and drop the claim; or, on an error, record the error, drop the claim and set
   the next attempt after a back-off that doubles from 30 seconds to at most an hour. A message
   is retried until it is sent, never given up; the admin lists unsent messages and their errors.

Two senders never send one message at the same time: a message is claimed by one of them, and
the other skips it until the claim's lease expires. The lease (5 minutes) is far longer than
one SMTP exchange, whose every step EMAIL_TIMEOUT bounds.

The delivery bound. A sender that dies after the mail server accepted a message and before it
marked it sent leaves the message claimed; when the lease expires a sender sends it again, with
the same Message-ID. So no message is lost, and at most the one message a crashed sender had in
flight is delivered twice, both copies with one Message-ID by which a mail client or the reader
recognises the second. Exactly once is impossible without the receiver's help: nothing the
sender records can happen atomically with the server's acceptance.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from findings.models import Notification

logger = logging.getLogger("domainflow.notifications")

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# What a mail server being down, refusing or timing out raises (ConnectionError is an OSError).
SEND_ERRORS = (smtplib.SMTPException, OSError)


@dataclass(frozen=True)
class DeliveryCount:
    sent: int = 0
    failed: int = 0


def notification_message_id(notification: Notification) -> str:
    """The message's Message-ID, the same on every attempt to deliver it.

    The creation time keeps two databases' (or a restored database's) message ids apart.
    """
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    created = notification.created_at.strftime("%Y%m%d%H%M%S%f")
    return f"<notification-{notification.pk}.{created}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th attempt failed: 30 s, 60 s, ... at most an hour."""
    # The exponent is capped so that a message retried for months does not build a huge number.
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), LONGEST_RETRY)


def notification_claim(*, lease: timedelta = LEASE) -> Notification | None:
    """Claim the next due message for this sender for `lease`, or return None if none is due."""
    now = timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .order_by("next_attempt_at", "pk")
            .first()
        )
        if notification is None:
            return None
        Notification.objects.filter(pk=notification.pk).update(
            claimed_until=now + lease, attempts=F("attempts") + 1
        )
    notification.claimed_until = now + lease
    notification.attempts += 1
    return notification


def notification_email(notification: Notification) -> EmailMessage:
    return EmailMessage(
        subject=notification.subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.to_address],
        headers={"Message-ID": notification_message_id(notification)},
    )


def notification_deliver(notification: Notification) -> bool:
    """Send a claimed message and record the outcome; True if the mail server accepted it."""
    try:
        notification_email(notification).send()
    except Exception as error:
        # Mail server errors are expected; anything else (a header the backend refuses) must not
        # stop the other messages either: this one waits, retries and shows its error in the
        # admin, and the log keeps the traceback.
        retry_at = timezone.now() + retry_delay(notification.attempts)
        Notification.objects.filter(pk=notification.pk).update(
            last_error=f"{type(error).__name__}: {error}",
            next_attempt_at=retry_at,
            claimed_until=None,
        )
        logger.warning(
            "notification %s to %s failed (attempt %s), retrying at %s: %s",
            notification.pk,
            notification.to_address,
            notification.attempts,
            retry_at.isoformat(),
            error,
            exc_info=not isinstance(error, SEND_ERRORS),
        )
        return False
    Notification.objects.filter(pk=notification.pk).update(
        sent_at=timezone.now(), claimed_until=None, last_error=""
    )
    logger.info(
        "notification %s sent to %s: %s",
        notification.pk,
        notification.to_address,
        notification.subject,
    )
    return True


def notifications_send_due(*, lease: timedelta = LEASE, should_stop=lambda: False) -> DeliveryCount:
    """Send every message due now, one at a time, until none is left or `should_stop()`."""
    sent = failed = 0
    while not should_stop():
        notification = notification_claim(lease=lease)
        if notification is None:
            break
        if notification_deliver(notification):
            sent += 1
        else:
            failed += 1
    return DeliveryCount(sent=sent, failed=failed)
