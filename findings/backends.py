"""Authentication backends."""

from functools import cache

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend, reading a user's permissions in one query instead of two.

    Every page checks a permission, so this query runs on every request. It is written in SQL:
    the same query built by the ORM spent 1.1 ms of CPU per request, mostly compiling itself,
    against 0.36 ms for all of this (bench/RESULTS.md).
    """

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = _permission_names(user_obj)
        return user_obj._perm_cache


def _permission_names(user) -> set[str]:
    query, params = _every_permission_sql(), []
    if not user.is_superuser:
        query, params = _held_permissions_sql(), [user.pk, user.pk]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}


@cache
def _every_permission_sql() -> str:
    return (
        f"SELECT content_type.app_label, permission.codename "
        f"FROM {Permission._meta.db_table} permission "
        f"JOIN {ContentType._meta.db_table} content_type "
        f"ON content_type.id = permission.content_type_id"
    )


@cache
def _held_permissions_sql() -> str:
    # Each half is an indexed subquery: joining both many-to-many tables in one FROM would
    # multiply every permission by the members of each group holding it.
    held_directly = get_user_model().user_permissions.through._meta.db_table
    group_permissions = Group.permissions.through._meta.db_table
    group_members = get_user_model().groups.through._meta.db_table
    return (
        f"{_every_permission_sql()} "
        f"WHERE permission.id IN (SELECT permission_id FROM {held_directly} WHERE user_id = %s) "
        f"OR permission.id IN (SELECT held.permission_id FROM {group_permissions} held "
        f"JOIN {group_members} member ON member.group_id = held.group_id "
        f"WHERE member.user_id = %s)"
    )
