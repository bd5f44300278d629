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

from findings.models import AuditEvent, LoginLockoutWindow
from findings.services.audit import LOCKOUT_USERNAMES_KEPT
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


def test_it_adds_up_failures_against_an_account_whatever_logs_in_between(
    client, admin_user, reviewer, limit
):
    # The probe that got through: guesses at admin just below the limit, then a real login as
    # someone else from the same address, which used to wipe admin's failures; and again.
    def guesses_then_a_reviewer_login() -> list[int]:
        statuses = fail(client, "admin", limit - 1)
        statuses.append(log_in(client, "reviewer").status_code)
        client.post("/accounts/logout/")
        return statuses

    rounds = [guesses_then_a_reviewer_login() for _ in range(4)]

    assert rounds[0] == [200] * (limit - 1) + [302]
    assert set(rounds[1] + rounds[2] + rounds[3]) == {429}
    response = log_in(client, "admin")
    assert response.status_code == 429
    assert logged_in_as(client) is None


def test_a_successful_login_clears_only_its_own_accounts_failures(client, viewer, reviewer, limit):
    fail(client, "viewer", limit - 1, address=NEIGHBOUR)
    assert log_in(client, "reviewer", address=NEIGHBOUR).status_code == 302

    assert log_in(client, "viewer", "wrong", address=ATTACKER).status_code == 429


def test_it_counts_the_lockouts_from_one_address_on_one_audit_event(client, db, limit):
    # Anyone can post a new username each time; the trail must not grow with every post.
    statuses = [log_in(client, f"guess{n}", "wrong").status_code for n in range(limit + 40)]

    assert statuses[limit - 1 :] == [429] * 41
    [event] = lockout_events()
    window = LoginLockoutWindow.objects.get()
    assert (window.event, window.ip_address, window.over_limit) == (event, ATTACKER, False)
    assert window.lockouts == 41
    assert window.usernames == [
        f"guess{n}" for n in range(limit - 1, limit - 1 + LOCKOUT_USERNAMES_KEPT)
    ]


def test_it_opens_a_new_lockout_window_after_the_cool_off(client, viewer, limit, axes_on):
    fail(client, "viewer", limit)
    LoginLockoutWindow.objects.update(started_at=timezone.now() - axes_on.AXES_COOLOFF_TIME)

    fail(client, "viewer", 1)

    assert len(lockout_events()) == 2
    assert list(LoginLockoutWindow.objects.values_list("lockouts", flat=True)) == [1, 1]


def test_it_bounds_the_lockout_events_of_one_cool_off_across_addresses(
    client, viewer, limit, monkeypatch
):
    monkeypatch.setattr("findings.services.audit.LOCKOUT_EVENTS_PER_COOL_OFF", 3)
    fail(client, "viewer", limit)

    statuses = [
        log_in(client, "viewer", "wrong", address=f"192.0.2.{n}").status_code for n in range(10)
    ]

    assert statuses == [429] * 10
    events = lockout_events()
    assert [event.ip_address for event in events] == [
        ATTACKER,
        "192.0.2.0",
        "192.0.2.1",
        "192.0.2.2",
    ]
    assert events[-1].after == {"username": "viewer", "ip_address": "192.0.2.2", "over_limit": 3}
    beyond = LoginLockoutWindow.objects.get(over_limit=True)
    assert (beyond.event, beyond.ip_address, beyond.lockouts) == (events[-1], None, 8)


def test_the_audit_log_shows_how_many_logins_a_lockout_refused(client, viewer, limit):
    fail(client, "viewer", limit + 2, address=NEIGHBOUR)
    client.force_login(viewer)

    response = client.get("/audit/")

    assert response.status_code == 200
    assert b'logins as &#x27;viewer&#x27; <span class="muted">(3 refused logins)</span>' in (
        response.content
    )
