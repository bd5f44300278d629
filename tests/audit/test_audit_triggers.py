"""The database refuses changes to audit rows whoever asks: mutating rows behind the app's back.

Raw SQL skips the model's and the queryset's guards (test_audit_append_only.py), so only the
triggers of findings.db_triggers stand between it and the audit trail. On PostgreSQL the test
runs as the app's own role, which its privileges stop first; each statement is tried again as the
tables' owner, whom only the triggers stop. A refused statement runs in its own atomic block, so
that its failure does not break the test's transaction.
"""

import sqlite3
from contextlib import closing

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from findings import db_triggers
from findings.audit_chain import SQLITE_PURGE_FUNCTION, audit_purge_allowed, chain_verify
from findings.models import AuditChainHead, AuditEvent, Phase
from findings.services.audit import ActionContext, audit_record
from tests.database_roles import as_owner

pytestmark = pytest.mark.usefixtures("as_app_role")

NO_FUNCTION = f"no such function: {SQLITE_PURGE_FUNCTION}"
ROW = ("sequence", "previous_hash", "hash", "action", "object_repr", "after")


@pytest.fixture
def events(db) -> list[AuditEvent]:
    phase = Phase.objects.create(
        code="2A", name="Foundation", priority_band="CRITICAL", folder_name="p2a", order=1
    )
    context = ActionContext.system("test")
    return [
        audit_record(
            context=context,
            action=f"phase.step{number}",
            obj=phase,
            permission="system:test",
            after={"step": number},
        )
        for number in range(1, 4)
    ]


def rows() -> list[tuple]:
    return list(AuditEvent.objects.order_by("sequence").values_list(*ROW))


def refused(sql: str, params=(), match: str = "append-only") -> None:
    with pytest.raises(DatabaseError, match=f"{match}|permission denied"), transaction.atomic():
        execute(sql, params)
    with as_owner(), pytest.raises(DatabaseError, match=match), transaction.atomic():
        execute(sql, params)


def execute(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_it_refuses_a_raw_update_of_one_event(events):
    before = rows()

    refused(
        "UPDATE findings_auditevent SET action = 'x' WHERE id = %s",
        [events[1].pk],
        match="UPDATE refused",
    )

    assert rows() == before


def test_it_refuses_a_raw_update_of_every_event(events):
    before = rows()

    refused("UPDATE findings_auditevent SET object_repr = 'rewritten'", match="UPDATE refused")

    assert rows() == before


def test_it_refuses_a_raw_update_of_the_hash_alone(events):
    before = rows()

    refused(
        "UPDATE findings_auditevent SET hash = previous_hash WHERE id = %s",
        [events[2].pk],
        match="UPDATE refused",
    )

    assert rows() == before


def test_it_refuses_a_raw_delete_of_one_event(events):
    before = rows()

    refused("DELETE FROM findings_auditevent WHERE id = %s", [events[1].pk], match="DELETE refused")

    assert rows() == before


def test_it_refuses_a_raw_delete_of_every_event(events):
    before = rows()

    refused("DELETE FROM findings_auditevent", match="DELETE refused")

    assert rows() == before


def test_it_refuses_a_truncate_on_postgresql(events):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE without WHERE is refused above")
    before = rows()
    # The events' deferred foreign key checks are still pending in the test's transaction, and
    # PostgreSQL will not truncate a table with pending trigger events: run them now.
    execute("SET CONSTRAINTS ALL IMMEDIATE")

    # CASCADE, as tables that refer to audit events would otherwise refuse first.
    refused("TRUNCATE findings_auditevent CASCADE", match="TRUNCATE refused")

    assert rows() == before


def test_it_refuses_the_base_managers_update_and_delete(events):
    # The base manager is a plain Manager, so it skips AuditEventQuerySet's guards.
    before = rows()

    # The app's role is refused by its privileges on PostgreSQL, and by the triggers on SQLite.
    refusal = pytest.raises(DatabaseError, match="UPDATE refused|permission denied")
    with refusal, transaction.atomic():
        AuditEvent._base_manager.filter(pk=events[0].pk).update(action="x")
    refusal = pytest.raises(DatabaseError, match="DELETE refused|permission denied")
    with refusal, transaction.atomic():
        AuditEvent._base_manager.filter(pk=events[0].pk).delete()

    assert rows() == before


def test_it_still_accepts_a_raw_insert(events):
    # Append-only: the triggers leave INSERT alone, which is why the chain must catch a forgery.
    execute(
        "INSERT INTO findings_auditevent (sequence, previous_hash, hash, created_at, "
        "actor_username, action, object_type, object_id, object_repr, permission, request_id, "
        "user_agent) VALUES (4, %s, %s, %s, '', 'forged', 'phase', '1', 'x', 'p', '', '')",
        [events[2].hash, "f" * 64, events[2].created_at],
    )

    assert AuditEvent.objects.count() == 4
    assert chain_verify()[1] is not None


def test_it_lets_a_purge_by_the_owner_delete_events_only_inside_the_block(events):
    with as_owner(), audit_purge_allowed():
        execute("DELETE FROM findings_auditevent WHERE id = %s", [events[2].pk])

    refused("DELETE FROM findings_auditevent WHERE id = %s", [events[1].pk])
    assert [row[0] for row in rows()] == [1, 2]


def test_it_still_refuses_an_update_inside_a_purge(events):
    before = rows()

    with audit_purge_allowed():
        refused("UPDATE findings_auditevent SET action = 'x'", match="UPDATE refused")

    assert rows() == before


def test_it_ends_the_purge_when_the_block_raises(events):
    with as_owner(), pytest.raises(RuntimeError), audit_purge_allowed():
        raise RuntimeError("the flush failed")

    refused("DELETE FROM findings_auditevent")
    assert len(rows()) == 3


# Committed rows, as flush meets them outside tests: PostgreSQL will not truncate a table whose
# inserts have deferred foreign key checks pending in the same transaction.
@pytest.mark.django_db(transaction=True)
def test_the_owners_flush_empties_the_audit_trail_and_the_triggers_still_hold_after(events):
    with as_owner():
        call_command("flush", interactive=False, verbosity=0)

    assert (AuditEvent.objects.count(), AuditChainHead.objects.count()) == (0, 0)
    phase = Phase.objects.create(
        code="2B", name="Hardening", priority_band="HIGH", folder_name="p2b", order=2
    )
    event = audit_record(
        context=ActionContext.system("test"), action="phase.created", obj=phase, permission="p"
    )
    assert event.sequence == 1
    refused("DELETE FROM findings_auditevent")
    assert chain_verify() == (1, None)


@pytest.mark.django_db(transaction=True)
def test_a_plain_sqlite3_client_cannot_delete_from_a_copy_of_the_database(events, tmp_path):
    """The migrated test database, copied to a file and opened without the app's function."""
    if connection.vendor != "sqlite":
        pytest.skip("the purge check function exists on SQLite only")
    # The backup waits for the source to be free of open transactions, hence transaction=True.
    connection.ensure_connection()
    with closing(sqlite3.connect(tmp_path / "copy.sqlite3")) as copy:
        connection.connection.backup(copy)

        with pytest.raises(sqlite3.OperationalError, match=NO_FUNCTION):
            copy.execute("DELETE FROM findings_auditevent")
        with pytest.raises(sqlite3.IntegrityError, match="UPDATE refused"):
            copy.execute("UPDATE findings_auditevent SET action = 'x'")

        stored = copy.execute("SELECT count(*), min(action) FROM findings_auditevent").fetchone()
    assert stored == (3, "phase.step1")


@pytest.fixture
def scratch(tmp_path):
    """A file database with a bare audit table and the migration's SQLite triggers."""
    database = sqlite3.connect(tmp_path / "scratch.sqlite3")
    database.execute(
        "CREATE TABLE findings_auditevent (id INTEGER PRIMARY KEY, action TEXT NOT NULL)"
    )
    database.execute("CREATE TABLE findings_auditchainhead (id INTEGER PRIMARY KEY)")
    for statement in db_triggers.SQLITE_CREATE:
        database.execute(statement)
    database.execute("INSERT INTO findings_auditevent (action) VALUES ('phase.created')")
    database.commit()
    yield database
    database.close()


def scratch_rows(database) -> list[tuple]:
    return database.execute("SELECT id, action FROM findings_auditevent").fetchall()


def test_the_sqlite_triggers_refuse_a_delete_from_a_client_without_the_function(scratch):
    with pytest.raises(sqlite3.OperationalError, match=NO_FUNCTION):
        scratch.execute("DELETE FROM findings_auditevent WHERE id = 1")

    assert scratch_rows(scratch) == [(1, "phase.created")]


def test_the_sqlite_triggers_refuse_an_update_from_any_client(scratch):
    scratch.create_function(SQLITE_PURGE_FUNCTION, 0, lambda: 1)

    with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE refused"):
        scratch.execute("UPDATE findings_auditevent SET action = 'x'")

    assert scratch_rows(scratch) == [(1, "phase.created")]


def test_the_sqlite_triggers_ask_the_function_whether_to_delete(scratch):
    scratch.create_function(SQLITE_PURGE_FUNCTION, 0, lambda: 0)
    with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE refused"):
        scratch.execute("DELETE FROM findings_auditevent")
    assert scratch_rows(scratch) == [(1, "phase.created")]

    scratch.create_function(SQLITE_PURGE_FUNCTION, 0, lambda: 1)
    scratch.execute("DELETE FROM findings_auditevent")

    assert scratch_rows(scratch) == []
