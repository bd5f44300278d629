"""A real SMTP server inside the test process (aiosmtpd), and the outbox rows it is sent."""

import email
import email.policy
import socket
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model

from findings.models import Notification, NotificationKind, Phase
from findings.services.notifications import notifications_queue

HOST = "127.0.0.1"


class Mailbox:
    """The server's handler: keeps each message whose DATA it received, then answers.

    `refusal` makes it answer DATA with that reply instead of accepting (a "451" is a
    temporary failure); `on_data` runs after a message is received and before the answer.
    """

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.refusal: str | None = None
        self.on_data: Callable[[EmailMessage], None] | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.refusal:
            return self.refusal
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        if self.on_data:
            self.on_data(message)
        return "250 2.0.0 Message accepted for delivery"

    def message_ids(self) -> Counter:
        return Counter(message["Message-ID"] for message in self.messages)


class SmtpServer:
    """aiosmtpd on a fixed free port of this host, which can be stopped and started again."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        # A stopped controller has closed its event loop, so each start needs a new one.
        self._controller = Controller(self.mailbox, hostname=HOST, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
        self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None


def smtp_settings(settings, server: SmtpServer) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = HOST, server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10


def queue_messages(count: int, name: str = "signer") -> list[Notification]:
    """Queue `count` messages of phase 2A's signoff, one per new user, in the order of their ids."""
    phase = Phase.objects.filter(code="2A").first() or Phase.objects.create(
        code="2A", name="Foundation", priority_band="CRITICAL", folder_name="p2a", order=1
    )
    users = get_user_model().objects
    recipients = [
        users.create_user(f"{name}{index}", email=f"{name}{index}@example.com")
        for index in range(count)
    ]
    return notifications_queue(
        kind=NotificationKind.SIGNED,
        phase=phase,
        recipients=recipients,
        subject="Phase 2A was signed off",
        body="lead signed phase 2A off.",
    )
