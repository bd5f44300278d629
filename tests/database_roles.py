"""The app's own PostgreSQL role in tests: a login role that owns nothing, as in production.

The test database is created and migrated by the cluster's superuser, which owns its tables, as
`MIGRATE_DATABASE_URL`'s role does in production; the app role is granted what
`manage.py grant_app_role` grants. The fixtures are in conftest.py.
"""

from contextlib import contextmanager

import psycopg
from django.db import connection

from findings.db_roles import identifier

APP_ROLE = "domainflow_app"


def set_role(role: str | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {identifier(role)}" if role else "RESET ROLE")


@contextmanager
def as_owner():
    """Step out of the app's role for the block: tampering by someone who owns the tables."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (role,) = cursor.fetchone()
    set_role(None)
    yield
    # After a failed block the test's rollback restores the role anyway.
    set_role(role)


def app_role_connection() -> psycopg.Connection:
    """A connection of its own, logged in as the app role (the cluster trusts local logins)."""
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        dbname=settings["NAME"],
        user=APP_ROLE,
        autocommit=True,
    )
