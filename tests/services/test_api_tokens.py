from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from findings.models import ApiToken, AuditEvent
from findings.services.tokens import (
    token_allows,
    token_authenticate,
    token_create,
    token_revoke,
    token_throttle,
)
from tests.helpers import context_for


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    cache.clear()
    yield
    cache.clear()


def make(user, *, actor=None, scope="tick", expires_at=None, name="laptop"):
    return token_create(
        user=user,
        name=name,
        scope=scope,
        expires_at=expires_at,
        context=context_for(actor or user),
    )


def test_it_shows_the_raw_token_once_and_stores_only_its_digest(reviewer):
    token, raw = make(reviewer)

    assert raw.startswith("dft_") and len(raw) == 44
    assert token.prefix == raw[4:12]
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in {stored.digest, stored.prefix, stored.name}
    assert len(stored.digest) == 64


def test_it_audits_creating_and_revoking_without_the_secret(reviewer):
    token, raw = make(reviewer)
    token_revoke(token_id=token.pk, context=context_for(reviewer))

    events = list(AuditEvent.objects.filter(object_type="apitoken").order_by("sequence"))
    assert [event.action for event in events] == ["api_token.created", "api_token.revoked"]
    assert events[0].after["prefix"] == token.prefix
    assert events[1].after["revoked_at"] is not None
    assert all(raw not in str(event.after) for event in events)


def test_it_authenticates_a_live_token_with_its_user(reviewer):
    token, raw = make(reviewer)

    found = token_authenticate(raw)

    assert found.pk == token.pk and found.user == reviewer


@pytest.mark.parametrize(
    "raw", ["", "dft_", "Bearer x", "dft_" + "a" * 40, "xyz_" + "a" * 40, "dft_" + "a" * 41]
)
def test_it_refuses_unknown_and_malformed_tokens(db, raw):
    assert token_authenticate(raw) is None


def test_it_refuses_a_revoked_token_at_once(reviewer):
    token, raw = make(reviewer)

    token_revoke(token_id=token.pk, context=context_for(reviewer))

    assert token_authenticate(raw) is None


def test_it_refuses_an_expired_token(reviewer):
    token, raw = make(reviewer, expires_at=timezone.now() + timedelta(hours=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert token_authenticate(raw) is None


def test_it_refuses_the_token_of_an_inactive_user(reviewer):
    _token, raw = make(reviewer)
    reviewer.is_active = False
    reviewer.save()

    assert token_authenticate(raw) is None


def test_it_refuses_an_expiry_in_the_past(reviewer):
    with pytest.raises(ValidationError):
        make(reviewer, expires_at=timezone.now() - timedelta(minutes=1))

    assert not ApiToken.objects.exists()


def test_it_records_the_last_use_at_most_once_a_minute(reviewer):
    token, raw = make(reviewer)

    token_authenticate(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    token_authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    token_authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_it_limits_a_read_token_to_reading(reviewer):
    read_token, _ = make(reviewer, scope="read")
    tick_token, _ = make(reviewer, scope="tick", name="ci")

    assert token_allows(read_token, "read") and not token_allows(read_token, "tick")
    assert token_allows(tick_token, "read") and token_allows(tick_token, "tick")
    assert not token_allows(tick_token, "sign")


def test_it_refuses_a_token_to_a_viewer(viewer):
    with pytest.raises(PermissionDenied):
        make(viewer)


def test_it_lets_an_admin_make_a_service_accounts_token(admin_user, ci_bot):
    token, raw = make(ci_bot, actor=admin_user, name="pipeline")

    assert token_authenticate(raw).user == ci_bot
    event = AuditEvent.objects.get(action="api_token.created")
    assert (event.actor, event.after["user"]) == (admin_user, "ci-bot")


def test_it_refuses_an_admin_a_token_for_a_person(admin_user, reviewer):
    with pytest.raises(PermissionDenied):
        make(reviewer, actor=admin_user)


def test_it_refuses_a_reviewer_a_token_for_a_service_account(reviewer, ci_bot):
    with pytest.raises(PermissionDenied):
        make(ci_bot, actor=reviewer)


def test_it_keeps_someone_elses_token_from_a_reviewer(reviewer, lead):
    token, raw = make(lead)

    with pytest.raises(ApiToken.DoesNotExist):
        token_revoke(token_id=token.pk, context=context_for(reviewer))

    assert token_authenticate(raw) is not None


def test_it_lets_an_admin_revoke_a_service_accounts_token(admin_user, ci_bot):
    token, raw = make(ci_bot, actor=admin_user)

    token_revoke(token_id=token.pk, context=context_for(admin_user))

    assert token_authenticate(raw) is None


def test_it_throttles_a_token_over_its_rate_with_a_retry_after(reviewer, settings):
    settings.API_TOKEN_RATE = "3/min"
    token, _ = make(reviewer)
    other, _ = make(reviewer, name="other")

    answers = [token_throttle(token) for _ in range(4)]

    assert answers[:3] == [None, None, None]
    assert 1 <= answers[3] <= 60
    assert token_throttle(other) is None
