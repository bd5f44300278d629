"""Account changes are in the audit chain, through the admin's user pages, commands and the ORM."""

import json
from io import StringIO

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from findings.audit_chain import chain_verify
from findings.models import AuditEvent
from findings.roles import REVIEWER, SIGNOFF_LEAD, VIEWER
from tests.admin_forms import form_data
from tests.conftest import PASSWORD

NEW_PASSWORD = "a fresh and long passphrase 7"


def user_events(user=None, action: str | None = None):
    events = AuditEvent.objects.filter(object_type="user").order_by("sequence")
    if user is not None:
        events = events.filter(object_id=str(user.pk))
    if action is not None:
        events = events.filter(action=action)
    return list(events)


def last_sequence() -> int:
    return AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def events_since(sequence: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(sequence__gt=sequence).order_by("sequence"))


def assert_no_password_hash(user) -> None:
    user.refresh_from_db()
    for event in AuditEvent.objects.all():
        recorded = json.dumps([event.before, event.after, event.object_repr])
        assert user.password not in recorded
        assert "md5$" not in recorded and "pbkdf2" not in recorded


def admin_form(admin_client, url: str) -> dict:
    return form_data(admin_client.get(url).content.decode())


# Through the admin's pages


def test_the_admin_add_page_records_the_new_user_as_created_by_the_admin(admin_client, admin_user):
    data = admin_form(admin_client, "/admin/auth/user/add/")
    data.update(username="newcomer", password1=NEW_PASSWORD, password2=NEW_PASSWORD)

    response = admin_client.post("/admin/auth/user/add/", data)

    assert response.status_code == 302
    newcomer = get_user_model().objects.get(username="newcomer")
    [created] = user_events(newcomer)
    assert (created.action, created.actor, created.permission) == (
        "user.created",
        admin_user,
        "auth.add_user",
    )
    assert created.after == {
        "username": "newcomer",
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "usable_password": True,
    }
    assert_no_password_hash(newcomer)


def test_the_admin_change_page_records_groups_deactivation_and_flags(
    admin_client, admin_user, reviewer
):
    url = f"/admin/auth/user/{reviewer.pk}/change/"
    data = admin_form(admin_client, url)
    data["groups"] = [str(Group.objects.get(name=SIGNOFF_LEAD).pk)]
    data["user_permissions"] = [str(Permission.objects.get(codename="view_auditevent").pk)]
    data.pop("is_active")
    data["is_staff"] = "on"
    data["is_superuser"] = "on"
    since = last_sequence()

    response = admin_client.post(url, data)

    assert response.status_code == 302
    events = events_since(since)
    assert {event.actor for event in events} == {admin_user}
    assert {event.object_id for event in events} == {str(reviewer.pk)}
    assert {event.permission for event in events} == {"auth.change_user"}
    changes = {event.action: (event.before, event.after) for event in events}
    assert changes["user.deactivated"] == ({"is_active": True}, {"is_active": False})
    assert changes["user.staff_changed"] == ({"is_staff": False}, {"is_staff": True})
    assert changes["user.superuser_changed"] == ({"is_superuser": False}, {"is_superuser": True})
    assert changes["user.permissions_changed"] == (
        {"permissions": []},
        {"permissions": ["findings.view_auditevent"]},
    )
    groups = [(e.before, e.after) for e in events if e.action == "user.groups_changed"]
    assert groups[0][0] == {"groups": [REVIEWER]}
    assert groups[-1][1] == {"groups": [SIGNOFF_LEAD]}
    assert chain_verify()[1] is None


def test_the_admin_change_page_records_a_reactivation(admin_client, admin_user, viewer):
    viewer.is_active = False
    viewer.save()
    url = f"/admin/auth/user/{viewer.pk}/change/"
    data = admin_form(admin_client, url)
    data["is_active"] = "on"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    event = user_events(viewer)[-1]
    assert (event.action, event.actor, event.after) == (
        "user.reactivated",
        admin_user,
        {"is_active": True},
    )


def test_the_admin_saving_an_unchanged_user_records_nothing(admin_client, viewer):
    url = f"/admin/auth/user/{viewer.pk}/change/"
    data = admin_form(admin_client, url)
    since = last_sequence()

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert events_since(since) == []


def test_the_admin_password_page_records_a_password_change_without_the_hash(
    admin_client, admin_user, viewer
):
    url = f"/admin/auth/user/{viewer.pk}/password/"
    data = admin_form(admin_client, url)
    data.update(password1=NEW_PASSWORD, password2=NEW_PASSWORD)

    response = admin_client.post(url, data)

    assert response.status_code == 302
    event = user_events(viewer)[-1]
    assert (event.action, event.actor, event.after) == (
        "user.password_changed",
        admin_user,
        {"usable_password": True},
    )
    assert_no_password_hash(viewer)


def test_a_user_changing_their_own_password_is_recorded_as_that_user(client, viewer):
    client.force_login(viewer)

    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    event = user_events(viewer)[-1]
    assert (event.action, event.actor, event.permission) == (
        "user.password_changed",
        viewer,
        "own account",
    )


def test_the_admin_delete_page_records_the_deletion(admin_client, admin_user, outsider):
    pk = outsider.pk

    response = admin_client.post(f"/admin/auth/user/{pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    event = AuditEvent.objects.get(object_type="user", object_id=str(pk), action="user.deleted")
    assert (event.actor, event.before["username"]) == (admin_user, "outsider")


# Through the ORM and commands, where no admin is behind the change


def test_orm_changes_are_recorded_as_system_changes(db):
    user = get_user_model().objects.create_user(username="scripted", password=PASSWORD)
    user.set_password(NEW_PASSWORD)
    user.is_active = False
    user.save()
    user.groups.add(Group.objects.get(name=VIEWER))
    user.user_permissions.add(Permission.objects.get(codename="view_phase"))
    user.is_active = True
    user.is_superuser = True
    user.save()
    user.username = "renamed"
    user.save()

    events = user_events(user)

    assert [event.action for event in events] == [
        "user.created",
        "user.deactivated",
        "user.password_changed",
        "user.groups_changed",
        "user.permissions_changed",
        "user.reactivated",
        "user.superuser_changed",
        "user.renamed",
    ]
    assert {event.actor for event in events} == {None}
    assert all(event.permission.startswith("system:") for event in events)
    assert events[3].before == {"groups": []} and events[3].after == {"groups": [VIEWER]}
    assert events[4].after == {"permissions": ["findings.view_phase"]}
    assert_no_password_hash(user)


def test_membership_changes_from_the_groups_side_are_recorded(viewer, reviewer):
    group = Group.objects.get(name=SIGNOFF_LEAD)

    group.user_set.add(viewer, reviewer)
    group.user_set.remove(reviewer)
    group.user_set.clear()

    viewer_changes = [(e.before, e.after) for e in user_events(viewer, "user.groups_changed")]
    reviewer_changes = [(e.before, e.after) for e in user_events(reviewer, "user.groups_changed")]
    both = sorted([SIGNOFF_LEAD, VIEWER])
    assert viewer_changes[-2:] == [
        ({"groups": [VIEWER]}, {"groups": both}),
        ({"groups": both}, {"groups": [VIEWER]}),
    ]
    assert reviewer_changes[-2:] == [
        ({"groups": [REVIEWER]}, {"groups": sorted([REVIEWER, SIGNOFF_LEAD])}),
        ({"groups": sorted([REVIEWER, SIGNOFF_LEAD])}, {"groups": [REVIEWER]}),
    ]


def test_a_login_records_nothing(client, viewer, settings):
    # The stored MD5 hash is upgraded on this login: a new hash, but not a new password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    since = last_sequence()

    assert client.login(username="viewer", password=PASSWORD)
    client.force_login(viewer)

    viewer.refresh_from_db()
    assert viewer.password.startswith("pbkdf2_sha256$")
    assert viewer.last_login is not None
    assert events_since(since) == []


def test_createsuperuser_is_recorded_as_a_system_change(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", NEW_PASSWORD)

    call_command(
        "createsuperuser",
        interactive=False,
        username="root",
        email="root@example.com",
        stdout=StringIO(),
    )

    [created] = user_events(action="user.created")
    assert created.object_repr == "root"
    assert created.actor is None
    assert created.permission.startswith("system:")
    assert created.after["is_superuser"] is True


def test_changepassword_is_recorded_as_a_system_change(viewer, monkeypatch):
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)

    call_command("changepassword", "viewer", stdout=StringIO())

    [changed] = user_events(viewer, "user.password_changed")
    assert (changed.actor, changed.after) == (None, {"usable_password": True})
    assert changed.permission.startswith("system:")
    assert_no_password_hash(viewer)


def test_demo_users_is_recorded(db, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setenv("DOMAINFLOW_DEMO_PASSWORD", NEW_PASSWORD)

    call_command("demo_users", stdout=StringIO())

    admin = get_user_model().objects.get(username="admin")
    actions = [event.action for event in user_events(admin)]
    assert actions[0] == "user.created"
    assert {"user.staff_changed", "user.superuser_changed", "user.groups_changed"} <= set(actions)
    assert "user.password_changed" in actions
    assert chain_verify()[1] is None


def test_a_save_of_last_login_alone_records_nothing(viewer):
    since = last_sequence()

    viewer.save(update_fields=["last_login"])

    assert events_since(since) == []
