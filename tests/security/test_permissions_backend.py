"""findings.backends.ModelBackend: the same permissions as Django's, in one query."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group, Permission

from findings.backends import ModelBackend
from findings.roles import ADMIN, REVIEWER, SIGNOFF_LEAD, VIEWER

pytestmark = pytest.mark.django_db


def _fresh(user):
    # Permission sets are cached on the user object; each check must start from the database.
    return get_user_model().objects.get(pk=user.pk)


@pytest.mark.parametrize("role", [VIEWER, REVIEWER, SIGNOFF_LEAD, ADMIN])
def test_a_role_gets_the_same_permissions_as_from_djangos_backend(role):
    user = get_user_model().objects.create_user(username="member")
    user.groups.add(Group.objects.get(name=role))

    ours = ModelBackend().get_all_permissions(_fresh(user))

    assert ours == DjangoModelBackend().get_all_permissions(_fresh(user))
    assert ours


def test_permissions_held_directly_and_through_a_group_are_both_counted():
    user = get_user_model().objects.create_user(username="member")
    user.groups.add(Group.objects.get(name=VIEWER))
    user.user_permissions.add(Permission.objects.get(codename="tick_checklistitem"))

    permissions = ModelBackend().get_all_permissions(_fresh(user))

    assert "findings.tick_checklistitem" in permissions
    assert "findings.view_finding" in permissions


def test_another_members_permissions_do_not_leak():
    user = get_user_model().objects.create_user(username="viewer")
    user.groups.add(Group.objects.get(name=VIEWER))
    other = get_user_model().objects.create_user(username="lead")
    other.groups.add(Group.objects.get(name=SIGNOFF_LEAD))
    other.user_permissions.add(Permission.objects.get(codename="delete_finding"))

    permissions = ModelBackend().get_all_permissions(_fresh(user))

    assert "findings.sign_off_phase" not in permissions
    assert "findings.delete_finding" not in permissions


def test_a_superuser_holds_every_permission():
    user = get_user_model().objects.create_superuser(username="root")

    assert len(ModelBackend().get_all_permissions(_fresh(user))) == Permission.objects.count()


def test_an_inactive_user_holds_none():
    user = get_user_model().objects.create_user(username="gone", is_active=False)
    user.groups.add(Group.objects.get(name=ADMIN))

    assert ModelBackend().get_all_permissions(_fresh(user)) == set()


def test_one_query_per_request_however_many_checks(django_assert_num_queries):
    user = get_user_model().objects.create_user(username="member")
    user.groups.add(Group.objects.get(name=REVIEWER))
    user = _fresh(user)

    with django_assert_num_queries(1):
        assert user.has_perm("findings.tick_checklistitem")
        assert user.has_perm("findings.view_finding")
        assert not user.has_perm("findings.sign_off_phase")
