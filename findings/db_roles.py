"""The app's own PostgreSQL role: it writes the app's rows but cannot rewrite the audit trail.

The tables' owner migrates and grants; gunicorn connects as a role that owns nothing. Owning a
table is what lets a role disable its triggers, truncate it or have its purge setting honoured
(findings.db_triggers), so the app role gets only the row privileges the app uses.
"""

from django.db import connections

from findings.models import AuditChainHead, AuditEvent

ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# Audit events are only ever appended and read; the head is created once and then moved on.
NARROWER_PRIVILEGES = {
    AuditEvent._meta.db_table: "SELECT, INSERT",
    AuditChainHead._meta.db_table: "SELECT, INSERT, UPDATE",
}


class RoleError(Exception):
    pass


def app_role_grant(*, role: str, using: str = "default") -> list[str]:
    """Give `role` exactly the privileges the app needs on this database; return the tables.

    Run as the tables' owner after every migrate, since new tables start with no grants. What
    the role held before is revoked first, so a second run leaves exactly this.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise RoleError("Database roles are PostgreSQL's: SQLite has none to grant.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            raise RoleError(f"There is no role {role!r} (CREATE ROLE {role} LOGIN PASSWORD ...).")
        if found[0]:
            raise RoleError(f"{role!r} is a superuser: the app must run as a role that is not.")
        cursor.execute(
            "SELECT pg_has_role(%s, tableowner, 'USAGE') FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = %s",
            [role, AuditEvent._meta.db_table],
        )
        if cursor.fetchone() != (False,):
            raise RoleError(
                f"{role!r} owns the tables (or they are not migrated yet): the app must run as a "
                "role that does not, and the owner runs this after migrate."
            )
        cursor.execute("SELECT current_schema()")
        schema = identifier(cursor.fetchone()[0])
        tables = sorted(connection.introspection.django_table_names(only_existing=True))
        grantee = identifier(role)
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {grantee}")
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {grantee}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}")
        for table in tables:
            privileges = NARROWER_PRIVILEGES.get(table, ROW_PRIVILEGES)
            cursor.execute(f"GRANT {privileges} ON {identifier(table)} TO {grantee}")
        cursor.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}")
    return tables


def identifier(name: str) -> str:
    # Django's quote_name does not double embedded quotes; a role's name is the owner's input.
    return '"' + name.replace('"', '""') + '"'
