"""API tokens: created and revoked (audited), recognised, scoped and throttled.

A raw token is "dft_" and 40 URL-safe characters. It is shown once; the database keeps its
SHA-256 digest, which is enough to recognise it, and the first characters after "dft_" (the
prefix) to tell tokens apart in a list.
"""

import hashlib
import math
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from findings.models import ApiToken, ApiTokenScope
from findings.roles import CI
from findings.services.audit import ActionContext, audit_record, permission_used

TOKEN_MARK = "dft_"
TOKEN_SECRET_BYTES = 30  # 40 characters of URL-safe base64
TOKEN_LENGTH = len(TOKEN_MARK) + 40
PREFIX_LENGTH = 8
OWN_TOKENS_PERMISSION = "findings.add_apitoken"
EVERY_TOKEN_PERMISSION = "findings.change_apitoken"
# A token's last use is written at most this often, so a busy pipeline does not write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# What each scope lets a token do.
SCOPE_ACTIONS = {ApiTokenScope.READ: {"read"}, ApiTokenScope.TICK: {"read", "tick"}}
RATE_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *, user, name: str, scope: str, expires_at: datetime | None, context: ActionContext
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it with the raw token, which nobody can see again.

    Anyone with the permission makes tokens for themselves; for a service account (a member of
    the CI group) it takes the permission over every token, which the Admin role holds. Raises
    PermissionDenied or ValidationError.
    """
    is_own = context.actor is not None and context.actor.pk == user.pk
    permission = permission_used(
        context, OWN_TOKENS_PERMISSION if is_own else EVERY_TOKEN_PERMISSION
    )
    if not is_own and not user.groups.filter(name=CI).exists():
        raise PermissionDenied(
            f"Tokens are made for yourself or for a service account (a member of the {CI} "
            f"group); {user.get_username()} is not one."
        )
    if not user.is_active:
        raise ValidationError(f"{user.get_username()} is inactive and cannot use a token.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    raw = TOKEN_MARK + secrets.token_urlsafe(TOKEN_SECRET_BYTES)
    token = ApiToken(
        user=user,
        name=name,
        scope=scope,
        expires_at=expires_at,
        prefix=raw[len(TOKEN_MARK) : len(TOKEN_MARK) + PREFIX_LENGTH],
        digest=token_digest(raw),
    )
    token.full_clean()
    with transaction.atomic():
        token.save()
        audit_record(
            context=context,
            action="api_token.created",
            obj=token,
            permission=permission,
            after=_token_state(token),
        )
    return token, raw


def token_revoke(*, token_id: int, context: ActionContext) -> ApiToken:
    """Revoke a token at once. Its owner may, and so may whoever holds every token's permission.

    Revoking a revoked token changes nothing. Raises ApiToken.DoesNotExist (also for someone
    else's token, which a user without the wider permission may not know of) or
    PermissionDenied.
    """
    actor = context.actor
    may_revoke_any = context.is_system or actor.has_perm(EVERY_TOKEN_PERMISSION)
    with transaction.atomic():
        tokens = ApiToken.objects.select_for_update().select_related("user")
        if not may_revoke_any:
            tokens = tokens.filter(user_id=actor.pk)
        token = tokens.get(pk=token_id)
        is_own = actor is not None and actor.pk == token.user_id
        permission = permission_used(
            context, OWN_TOKENS_PERMISSION if is_own else EVERY_TOKEN_PERMISSION
        )
        if token.revoked_at is not None:
            return token
        before = _token_state(token)
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            context=context,
            action="api_token.revoked",
            obj=token,
            permission=permission,
            before=before,
            after=_token_state(token),
        )
    return token


def _token_state(token: ApiToken) -> dict:
    return {
        "user": token.user.get_username(),
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def token_authenticate(raw: str) -> ApiToken | None:
    """The usable token `raw` names, with its user; None when it is unknown, malformed, revoked,
    expired or its user inactive. Records the use, at most once a minute.
    """
    if not isinstance(raw, str) or len(raw) != TOKEN_LENGTH or not raw.startswith(TOKEN_MARK):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_allows(token: ApiToken, action: str) -> bool:
    """Whether the token's scope covers `action`, "read" or "tick". The user's own permissions
    still apply to whatever the token does.
    """
    return action in SCOPE_ACTIONS.get(token.scope, set())


def token_throttle(token: ApiToken) -> int | None:
    """Count one request of `token`; the seconds to wait (Retry-After) when it is over
    API_TOKEN_RATE, otherwise None. A fixed window per period, kept in Django's cache.
    """
    allowed, period = _rate()
    now = time.time()
    window = int(now // period)
    key = f"api-token-rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:
        # The window's counter expired between add and incr: this request opens the next one.
        cache.set(key, 1, timeout=period + 1)
        count = 1
    if count <= allowed:
        return None
    return max(1, math.ceil((window + 1) * period - now))


def _rate() -> tuple[int, int]:
    count, unit = settings.API_TOKEN_RATE.split("/")
    return int(count), RATE_PERIODS[unit]
