"""Login throttling: repeated failed logins lock an account or an address out for a while.

django-axes reads its settings on every request (axes.conf only fills in defaults at import),
and its default handler keeps attempts in the database, which each test rolls back; so the
`settings` fixture is enough to switch it on, and nothing carries over from one test to the next.
Every login goes through the real login form, as an attacker's would.
"""

import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from findings.models import AuditEvent
from tests.conftest import PASSWORD

URL = "/accounts/login/"
LOCKED_OUT = b"Too many failed logins"
ATTACKER, NEIGHBOUR = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def axes_on(settings, plain_http_test_server):
    # After the autouse fixture that switches throttling off for every other test.
    settings.AXES_ENABLED = True
    return settings


@pytest.fixture
def limit(axes_on) -> int:
    assert axes_on.AXES_FAILURE_LIMIT >= 2
    return axes_on.AXES_FAILURE_LIMIT


def log_in(client, username: str, password: str = PASSWORD, address: str = ATTACKER):
    return client.post(URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username: str, times: int, address: str = ATTACKER) -> list[int]:
    return [log_in(client, username, "wrong", address).status_code for _ in range(times)]


def logged_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


def lockout_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="auth.locked_out").order_by("sequence"))


def test_it_locks_an_account_out_at_the_failure_limit(client, viewer, limit):
    statuses = fail(client, "viewer", limit)

    assert statuses == [200] * (limit - 1) + [429]


def test_it_refuses_even_the_right_password_once_locked_out(client, viewer, limit):
    fail(client, "viewer", limit)

    response = log_in(client, "viewer")

    assert response.status_code == 429
    assert LOCKED_OUT in response.content
    assert logged_in_as(client) is None


def test_it_lets_the_right_password_in_below_the_limit(client, viewer, limit):
    fail(client, "viewer", limit - 1)

    response = log_in(client, "viewer")

    assert (response.status_code, response["Location"]) == (302, "/")
    assert logged_in_as(client) == str(viewer.pk)


def test_it_does_not_throttle_when_axes_is_off(client, viewer, settings):
    # The control for the tests above: without django-axes the same failures lock nothing out.
    assert settings.AXES_ENABLED is False

    fail(client, "viewer", settings.AXES_FAILURE_LIMIT + 1)

    assert log_in(client, "viewer").status_code == 302


def test_it_audits_a_lockout_with_the_username_and_address(client, viewer, limit):
    fail(client, "viewer", limit)

    [event] = lockout_events()
    assert (event.object_type, event.object_id) == ("login", "viewer")
    assert event.after == {"username": "viewer", "ip_address": ATTACKER}
    assert event.ip_address == ATTACKER
    assert (event.actor, event.permission) == (None, "system:login throttling")


def test_it_audits_a_lockout_once_however_many_attempts_follow_it(client, viewer, limit):
    # Each refused attempt during a lockout must not append to the audit chain: an attacker
    # could otherwise write audit rows, serialised on the chain head, as fast as they can post.
    fail(client, "viewer", limit + 3)
    log_in(client, "viewer")

    assert len(lockout_events()) == 1


def test_it_writes_no_audit_event_below_the_limit(client, viewer, limit):
    fail(client, "viewer", limit - 1)

    assert lockout_events() == []


def test_it_keeps_the_account_locked_from_another_address(client, viewer, limit):
    fail(client, "viewer", limit)

    response = log_in(client, "viewer", address=NEIGHBOUR)

    assert response.status_code == 429
    assert logged_in_as(client) is None


def test_it_leaves_another_account_at_another_address_alone(client, viewer, reviewer, limit):
    fail(client, "viewer", limit)

    response = log_in(client, "reviewer", address=NEIGHBOUR)

    assert (response.status_code, response["Location"]) == (302, "/")
    assert logged_in_as(client) == str(reviewer.pk)


def test_it_locks_an_address_that_fails_across_many_usernames(client, reviewer, limit):
    statuses = [
        log_in(client, f"guess{n}", "wrong", address=ATTACKER).status_code for n in range(limit)
    ]

    assert statuses == [200] * (limit - 1) + [429]
    assert log_in(client, "reviewer", address=ATTACKER).status_code == 429
    assert logged_in_as(client) is None
    assert log_in(client, "reviewer", address=NEIGHBOUR).status_code == 302


@pytest.mark.parametrize(
    ("elapsed", "status"),
    [(timedelta(minutes=-1), 429), (timedelta(seconds=1), 302)],
    ids=["a minute before the cool-off ends", "just after the cool-off"],
)
def test_it_lets_the_account_in_again_only_after_the_cool_off(
    client, viewer, limit, axes_on, elapsed, status
):
    fail(client, "viewer", limit)
    # Axes counts the attempts made within the cool-off, so moving them back is time passing.
    moved = AccessAttempt.objects.update(
        attempt_time=timezone.now() - axes_on.AXES_COOLOFF_TIME - elapsed
    )
    assert moved == 1

    assert log_in(client, "viewer").status_code == status


def test_it_ends_a_short_cool_off_in_real_time(client, viewer, limit, axes_on):
    # Proves axes reads the cool-off per request, as the settings-fixture tests above rely on.
    axes_on.AXES_COOLOFF_TIME = timedelta(seconds=1)
    fail(client, "viewer", limit)
    assert log_in(client, "viewer").status_code == 429

    time.sleep(1.2)

    assert log_in(client, "viewer").status_code == 302


def test_a_successful_login_resets_the_failure_count(client, viewer, limit):
    fail(client, "viewer", limit - 1)
    assert log_in(client, "viewer").status_code == 302
    client.post("/accounts/logout/")

    statuses = fail(client, "viewer", limit - 1)

    assert statuses == [200] * (limit - 1)
    assert log_in(client, "viewer").status_code == 302
