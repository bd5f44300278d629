import ipaddress
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from findings.audit_chain import chain_append
from findings.client_address import client_ip
from findings.locks import chain_head_hold
from findings.models import AuditEvent, Finding, LoginLockoutWindow

USER_AGENT_LIMIT = 500
# Anonymous traffic may add at most this many lockout events to the trail per cool-off, one per
# address; the lockouts from further addresses are counted on one more event.
LOCKOUT_EVENTS_PER_COOL_OFF = 100
LOCKOUT_USERNAMES_KEPT = 20
LOCKOUT_USERNAME_LIMIT = 64


@dataclass(frozen=True)
class ActionContext:
    """Who acts, and where the request came from, for the audit trail."""

    actor: AbstractBaseUser | None
    request_id: str = ""
    ip_address: str | None = None
    user_agent: str = ""
    # The management command behind a change that has no user.
    source: str = ""
    # The API token the request came with (findings.api.auth), named in the events it records.
    token_name: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> "ActionContext":
        user = request.user if not isinstance(request.user, AnonymousUser) else None
        token = getattr(request, "api_token", None)
        return cls(
            actor=user,
            request_id=getattr(request, "request_id", ""),
            ip_address=client_ip(request),
            user_agent=printable(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_LIMIT],
            token_name=token.name if token is not None else "",
        )

    @classmethod
    def system(cls, source: str) -> "ActionContext":
        """A change made by a management command or another process with no user behind it."""
        return cls(actor=None, source=source, request_id=f"{source}-{uuid.uuid4().hex[:12]}")

    @property
    def is_system(self) -> bool:
        return self.actor is None


def printable(text: str) -> str:
    """Drop control characters (NUL among them, which PostgreSQL refuses) from header text."""
    return "".join(character for character in text if character.isprintable())


def missing_permission_message(permission: str) -> str:
    return f"You need the permission {permission!r} to do this."


def permission_used(context: ActionContext, permission: str) -> str:
    """Return the permission that allows this change, or refuse it.

    A system context (a management command run by an operator) is trusted; its audit events say so.
    """
    if context.is_system:
        return f"system:{context.source}"
    if not context.actor.is_active or not context.actor.has_perm(permission):
        raise PermissionDenied(missing_permission_message(permission))
    return permission


def audit_record(
    *,
    context: ActionContext,
    action: str,
    obj: models.Model,
    permission: str,
    before: dict | None = None,
    after: dict | None = None,
    finding: Finding | None = None,
) -> AuditEvent:
    return _append(
        context,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        object_repr=str(obj),
        finding=finding,
        before=before,
        after=after,
        permission=permission,
    )


def login_lockout_record(*, request: HttpRequest, username: str) -> AuditEvent | None:
    """Count a login refused by throttling; the first from an address in a cool-off is audited.

    django-axes signals a lockout on every refused attempt, and anyone who reaches the login page
    can post as fast as they like, with a new username or from a new address each time. So the
    lockouts from one address within one cool-off are one audit event whose LoginLockoutWindow
    counts them, and beyond LOCKOUT_EVENTS_PER_COOL_OFF such events in a cool-off the lockouts
    from every further address are counted on one more event. Returns the event it appended.
    """
    context = ActionContext.from_request(request)
    ip_address = _normalised_ip(context.ip_address)
    username = printable(username)[:LOCKOUT_USERNAME_LIMIT]
    now = timezone.now()
    # Queued behind every other audited write, so two attempts cannot both open a window.
    with transaction.atomic(), chain_head_hold():
        open_windows = LoginLockoutWindow.objects.filter(
            started_at__gt=now - settings.AXES_COOLOFF_TIME
        )
        window = open_windows.filter(ip_address=ip_address, over_limit=False).first()
        over_limit = (
            window is None
            and open_windows.filter(over_limit=False).count() >= LOCKOUT_EVENTS_PER_COOL_OFF
        )
        if over_limit:
            window = open_windows.filter(over_limit=True).first()
        if window is not None:
            _lockout_count(window, username)
            return None
        after = {"username": username, "ip_address": ip_address}
        if over_limit:
            after["over_limit"] = LOCKOUT_EVENTS_PER_COOL_OFF
        event = _append(
            context,
            action="auth.locked_out",
            object_type="login",
            object_id=username,
            object_repr=(
                f"logins from more addresses than the {LOCKOUT_EVENTS_PER_COOL_OFF} audited"
                if over_limit
                else f"logins as {username!r}"
            ),
            after=after,
            permission="system:login throttling",
        )
        LoginLockoutWindow.objects.create(
            ip_address=None if over_limit else ip_address,
            over_limit=over_limit,
            started_at=now,
            event=event,
            usernames=[username],
        )
        return event


def open_lockout_counts() -> list[tuple[int, int]]:
    """The refused logins counted so far by each lockout window still open, in one query.

    Only an open window's count grows, and it grows without an audit event: the audit log's
    kept pages (findings/page_cache.py) are keyed by this too.
    """
    opened_since = timezone.now() - settings.AXES_COOLOFF_TIME
    windows = LoginLockoutWindow.objects.filter(started_at__gt=opened_since).order_by("pk")
    return list(windows.values_list("pk", "lockouts"))


def _lockout_count(window: LoginLockoutWindow, username: str) -> None:
    window.lockouts += 1
    fields = ["lockouts"]
    if username not in window.usernames and len(window.usernames) < LOCKOUT_USERNAMES_KEPT:
        window.usernames.append(username)
        fields.append("usernames")
    window.save(update_fields=fields)


def _json_ready(value):
    """Before/after values as every database gives them back, so their hash stays verifiable.

    PostgreSQL stores JSON numbers as numerics: a float with no fraction (1e20, -0.0) comes
    back as an integer.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


def _append(context: ActionContext, *, object_repr: str, **fields) -> AuditEvent:
    actor = context.actor
    for side in ("before", "after"):
        if side in fields:
            fields[side] = _json_ready(fields[side])
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor,
        actor_username=actor.get_username() if actor else "",
        object_repr=object_repr[:200],
        request_id=context.request_id,
        ip_address=_normalised_ip(context.ip_address),
        user_agent=context.user_agent[:USER_AGENT_LIMIT],
        **fields,
    )
    # Callers already run in a transaction; a savepoint of our own would only cost two queries.
    with transaction.atomic(savepoint=False):
        return chain_append(event)


def _normalised_ip(address: str | None) -> str | None:
    """The address as the database will give it back, so the event's hash stays verifiable."""
    if not address:
        return None
    try:
        return (
            clean_ipv6_address(address) if ":" in address else str(ipaddress.IPv4Address(address))
        )
    except (ValueError, ValidationError):
        return None


def last_change_of(obj: models.Model) -> AuditEvent | None:
    """The newest audit event about `obj`, to tell a reviewer who changed it under them."""
    return (
        AuditEvent.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
        .only("actor_username", "action", "created_at", "after")
        .order_by("-sequence")
        .first()
    )


def change_author(event: AuditEvent) -> str:
    return event.actor_username or "an administrator's command"
