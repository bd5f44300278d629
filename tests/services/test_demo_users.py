from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from findings.roles import ADMIN, CI, REVIEWER, SIGNOFF_LEAD, VIEWER

DEMO_PASSWORD = "demo-password-for-tests"
USERNAMES = ("viewer", "reviewer", "lead", "lead2", "admin")
READ = {
    "findings.view_phase",
    "findings.view_finding",
    "findings.view_tacticaldocument",
    "findings.view_dependency",
    "findings.view_checklistitem",
    "findings.view_signoff",
    "findings.view_auditevent",
}
REVIEW = READ | {
    "findings.tick_checklistitem",
    "findings.change_finding_status",
    "findings.edit_content",
    "findings.add_apitoken",
}
SIGN = REVIEW | {"findings.sign_off_phase"}
EDIT = (
    SIGN
    | {
        f"findings.{verb}_{model}"
        for verb in ("add", "change", "delete")
        for model in ("phase", "finding", "tacticaldocument", "dependency", "checklistitem")
    }
    | {"findings.view_apitoken", "findings.change_apitoken"}
)
# Service accounts read and tick, and never sign, move findings, write content or make tokens.
SERVICE = READ | {"findings.tick_checklistitem"}


@pytest.fixture
def demo(db, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setenv("DOMAINFLOW_DEMO_PASSWORD", DEMO_PASSWORD)
    out = StringIO()
    call_command("demo_users", stdout=out)
    return out.getvalue()


def user(username: str):
    return get_user_model().objects.get(username=username)


def group_permissions(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_it_refuses_to_run_with_debug_off(db, settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("DOMAINFLOW_DEMO_PASSWORD", DEMO_PASSWORD)

    with pytest.raises(CommandError, match="only runs with DEBUG on"):
        call_command("demo_users", stdout=StringIO())

    assert not get_user_model().objects.exists()


def test_it_creates_one_user_per_role_and_a_second_signoff_lead(demo):
    memberships = {
        username: list(user(username).groups.values_list("name", flat=True))
        for username in USERNAMES
    }

    assert memberships == {
        "viewer": [VIEWER],
        "reviewer": [REVIEWER],
        "lead": [SIGNOFF_LEAD],
        "lead2": [SIGNOFF_LEAD],
        "admin": [ADMIN],
    }
    assert get_user_model().objects.count() == 5
    assert "lead2 (Signoff lead)" in demo


def test_it_makes_only_the_admin_staff_and_superuser(demo):
    flags = {
        username: (user(username).is_staff, user(username).is_superuser) for username in USERNAMES
    }

    assert flags == {
        "viewer": (False, False),
        "reviewer": (False, False),
        "lead": (False, False),
        "lead2": (False, False),
        "admin": (True, True),
    }


def test_it_sets_the_password_from_the_environment(demo, client):
    assert DEMO_PASSWORD in demo
    for username in USERNAMES:
        assert client.login(username=username, password=DEMO_PASSWORD), username
        client.logout()
    assert not client.login(username="viewer", password="not-the-password")


def test_it_makes_up_a_password_when_none_is_given(db, settings, monkeypatch, client):
    settings.DEBUG = True
    monkeypatch.delenv("DOMAINFLOW_DEMO_PASSWORD", raising=False)
    out = StringIO()

    call_command("demo_users", stdout=out)

    password = out.getvalue().split("Password for all of them: ")[1].strip()
    assert len(password) >= 12
    assert client.login(username="lead", password=password)


def test_it_can_run_twice_and_resets_the_password(demo, settings, monkeypatch, client):
    monkeypatch.setenv("DOMAINFLOW_DEMO_PASSWORD", "a-second-demo-password")

    call_command("demo_users", stdout=StringIO())

    assert get_user_model().objects.count() == 5
    assert client.login(username="reviewer", password="a-second-demo-password")
    assert list(user("reviewer").groups.values_list("name", flat=True)) == [REVIEWER]


@pytest.mark.parametrize(
    ("role", "expected"),
    [(VIEWER, READ), (REVIEWER, REVIEW), (SIGNOFF_LEAD, SIGN), (ADMIN, EDIT), (CI, SERVICE)],
)
def test_each_group_has_exactly_its_roles_permissions(db, role, expected):
    assert group_permissions(role) == expected


def test_no_group_may_add_change_or_delete_audit_events_or_signoffs(db):
    for role in (VIEWER, REVIEWER, SIGNOFF_LEAD, ADMIN):
        forbidden = {
            perm
            for perm in group_permissions(role)
            if perm.split(".")[1].split("_")[0] in ("add", "change", "delete")
            and perm.endswith(("_auditevent", "_signoff"))
        }
        assert forbidden == set(), role


@pytest.mark.parametrize(
    ("username", "permission", "allowed"),
    [
        ("viewer", "findings.view_finding", True),
        ("viewer", "findings.tick_checklistitem", False),
        ("reviewer", "findings.tick_checklistitem", True),
        ("reviewer", "findings.change_finding_status", True),
        ("reviewer", "findings.sign_off_phase", False),
        ("reviewer", "findings.change_finding", False),
        ("lead", "findings.sign_off_phase", True),
        ("lead", "findings.add_finding", False),
        ("lead2", "findings.sign_off_phase", True),
        ("lead2", "findings.add_finding", False),
        ("admin", "findings.add_finding", True),
        ("admin", "findings.sign_off_phase", True),
    ],
)
def test_the_demo_users_hold_their_roles_permissions(demo, username, permission, allowed):
    assert user(username).has_perm(permission) is allowed
