"""The app's own PostgreSQL role (`manage.py grant_app_role`) cannot cut the audit trail.

Any session may SET domainflow.audit_purge; only the tables' owner has it honoured, and the app
role owns nothing. The tampering runs on a connection of its own, logged in as the app role, on
committed rows, as it would against the running app.
"""

import threading
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from findings.audit_chain import chain_verify
from findings.db_roles import app_role_grant
from findings.models import AuditChainHead, AuditEvent, Phase
from findings.services.audit import ActionContext, audit_record
from tests.database_roles import APP_ROLE, app_role_connection

postgres_only = pytest.mark.postgres_only


@pytest.fixture
def committed_events(transactional_db, app_role) -> int:
    phase = Phase.objects.create(
        code="2A", name="Foundation", priority_band="CRITICAL", folder_name="p2a", order=1
    )
    for step in range(5):
        audit_record(
            context=ActionContext.system("test"),
            action="phase.checked",
            obj=phase,
            permission="system:test",
            after={"step": step},
        )
    return AuditEvent.objects.count()


def trail() -> tuple:
    return AuditEvent.objects.count(), AuditChainHead.objects.get().sequence, chain_verify()


@postgres_only
def test_the_app_role_cannot_purge_the_newest_events_and_rewind_the_head(committed_events):
    before = trail()

    with app_role_connection() as tamperer:
        refused = pytest.raises(psycopg.errors.InsufficientPrivilege)
        with refused, tamperer.transaction():
            tamperer.execute("SET domainflow.audit_purge = 'on'")
            tamperer.execute("DELETE FROM findings_auditevent WHERE sequence > 3")
            tamperer.execute("UPDATE findings_auditchainhead SET sequence = 3")

    assert before == trail() == (committed_events, committed_events, (committed_events, None))


@postgres_only
@pytest.mark.parametrize(
    "statement", ["TRUNCATE findings_auditevent CASCADE", "TRUNCATE findings_auditchainhead"]
)
def test_the_app_role_cannot_truncate_the_trail(committed_events, statement):
    with app_role_connection() as tamperer, pytest.raises(psycopg.errors.InsufficientPrivilege):
        tamperer.execute("SET domainflow.audit_purge = 'on'")
        tamperer.execute(statement)

    assert trail()[2] == (committed_events, None)


@postgres_only
@pytest.mark.parametrize(
    ("privilege", "table", "statement"),
    [
        ("DELETE", "findings_auditevent", "DELETE FROM findings_auditevent WHERE sequence > 3"),
        ("DELETE", "findings_auditchainhead", "DELETE FROM findings_auditchainhead"),
        # The head's table, as other tables' foreign keys to events refuse a TRUNCATE first.
        ("TRUNCATE", "findings_auditchainhead", "TRUNCATE findings_auditchainhead"),
    ],
)
def test_the_purge_setting_counts_only_for_the_owner_even_if_the_app_role_were_granted_more(
    committed_events, privilege, table, statement
):
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT {privilege} ON {table} TO {APP_ROLE}")
    try:
        with app_role_connection() as tamperer:
            tamperer.execute("SET domainflow.audit_purge = 'on'")
            with pytest.raises(
                psycopg.errors.InsufficientPrivilege, match=f"append-only: {privilege} refused"
            ):
                tamperer.execute(statement)
    finally:
        app_role_grant(role=APP_ROLE)

    assert trail()[2] == (committed_events, None)


def has_privileges(table: str) -> dict[str, bool]:
    privileges = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(["has_table_privilege(%s, %s, %s)"] * len(privileges)),
            [value for privilege in privileges for value in (APP_ROLE, table, privilege)],
        )
        return dict(zip(privileges, cursor.fetchone(), strict=True))


def granted(*privileges: str) -> dict[str, bool]:
    every = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
    return {privilege: privilege in privileges for privilege in every}


@postgres_only
def test_grant_app_role_grants_only_what_the_app_needs(db, app_role):
    assert has_privileges("findings_auditevent") == granted("SELECT", "INSERT")
    assert has_privileges("findings_auditchainhead") == granted("SELECT", "INSERT", "UPDATE")
    rows = granted("SELECT", "INSERT", "UPDATE", "DELETE")
    assert has_privileges("findings_finding") == rows
    assert has_privileges("django_session") == rows
    assert has_privileges("django_migrations") == granted()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
            "AND pg_has_role(%s, tableowner, 'USAGE')",
            [APP_ROLE],
        )
        assert cursor.fetchone() == (0,)


@postgres_only
def test_grant_app_role_says_what_it_granted(db, app_role):
    out = StringIO()

    call_command("grant_app_role", APP_ROLE, stdout=out)

    assert out.getvalue().startswith(f"Granted {APP_ROLE} its privileges on ")


@postgres_only
@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("postgres", "'postgres' is a superuser: the app must run as a role that is not."),
        ("nobody_here", "There is no role 'nobody_here'"),
    ],
)
def test_grant_app_role_refuses_a_role_the_app_must_not_run_as(db, role, message):
    with pytest.raises(CommandError, match=message):
        call_command("grant_app_role", role)


@postgres_only
def test_grant_app_role_refuses_the_tables_owner(db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE domainflow_owner_test")
        cursor.execute("ALTER TABLE findings_auditevent OWNER TO domainflow_owner_test")

    with pytest.raises(CommandError, match="'domainflow_owner_test' owns the tables"):
        call_command("grant_app_role", "domainflow_owner_test")


def test_grant_app_role_refuses_sqlite(db):
    if connection.vendor != "sqlite":
        pytest.skip("the refusal of SQLite only")

    with pytest.raises(CommandError, match="SQLite has none to grant"):
        call_command("grant_app_role", APP_ROLE)


@postgres_only
@pytest.mark.usefixtures("as_app_role")
def test_the_audit_tests_run_as_the_app_role_and_so_do_their_threads(db):
    def current_user() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            return cursor.fetchone()[0]

    seen = []
    thread = threading.Thread(target=lambda: (seen.append(current_user()), connections.close_all()))
    thread.start()
    thread.join(30)

    assert (current_user(), seen) == (APP_ROLE, [APP_ROLE])
