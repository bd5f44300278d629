"""Fixtures of the API tests: real tokens for each role and scope."""

from datetime import timedelta

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from findings.models import ApiTokenScope
from findings.services.audit import ActionContext
from findings.services.tokens import token_create, token_revoke


@pytest.fixture(scope="session", autouse=True)
def plain_http_live_server():
    """The live server's middleware is built once, before per-test settings apply, so its
    redirect to HTTPS is switched off for the session here, as tests/browser does.
    """
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


def raw_token(user, scope: str = ApiTokenScope.TICK, name: str = "", expires_at=None) -> str:
    """A new token of `user`, made as an admin's command would make it; returns the raw token."""
    _token, raw = token_create(
        user=user,
        name=name or f"{user.get_username()}-{scope}",
        scope=scope,
        expires_at=expires_at,
        context=ActionContext(actor=user) if not user.groups.filter(name="CI") else _system(),
    )
    return raw


def _system() -> ActionContext:
    return ActionContext.system("test")


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def ci_token(ci_bot, catalogue) -> str:
    return raw_token(ci_bot, name="ci-pipeline")


@pytest.fixture
def read_only_token(ci_bot, catalogue) -> str:
    return raw_token(ci_bot, ApiTokenScope.READ, name="ci-reader")


@pytest.fixture
def revoked_token(ci_bot, catalogue) -> str:
    token, raw = token_create(
        user=ci_bot, name="ci-old", scope=ApiTokenScope.TICK, expires_at=None, context=_system()
    )
    token_revoke(token_id=token.pk, context=_system())
    return raw


@pytest.fixture
def expired_token(ci_bot, catalogue) -> str:
    token, raw = token_create(
        user=ci_bot,
        name="ci-expiring",
        scope=ApiTokenScope.TICK,
        expires_at=timezone.now() + timedelta(minutes=5),
        context=_system(),
    )
    type(token).objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    return raw
