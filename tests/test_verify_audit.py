"""`manage.py verify_audit`: each kind of tampering is reported at the first event it breaks.

The tampering is done behind the app's back, with raw SQL and with migration 0002's triggers
dropped for the moment; the DDL is part of the test's transaction, so it is rolled back with it
on both databases, and the triggers are recreated at once anyway.
"""

import importlib
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from findings.audit_chain import HEAD_ID, chain_verify, event_hash
from findings.models import AuditChainHead, AuditEvent

triggers = importlib.import_module("findings.migrations.0002_audit_append_only_triggers")

MIDDLE = 40
# Far above any real sequence, so renumbering never collides with the unique constraint.
OFFSET = 1_000_000


@pytest.fixture
def total(catalogue) -> int:
    """How many events the seeded catalogue wrote: the chain every test tampers with."""
    count = AuditEvent.objects.count()
    assert count > MIDDLE + 20
    return count


def execute(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@contextmanager
def triggers_dropped():
    if connection.vendor == "postgresql":
        drop, create = [triggers.POSTGRESQL_DROP], [triggers.POSTGRESQL_CREATE]
    else:
        drop, create = triggers.SQLITE_DROP, triggers.SQLITE_CREATE
    for statement in drop:
        execute(statement)
    try:
        yield
    finally:
        for statement in create:
            execute(statement)


def event_at(sequence: int) -> AuditEvent:
    return AuditEvent.objects.get(sequence=sequence)


def renumber(first: int, shift: int) -> None:
    """Move every event from `first` on by `shift` places, in two steps past the unique index."""
    execute(
        "UPDATE findings_auditevent SET sequence = sequence + %s WHERE sequence >= %s",
        [OFFSET, first],
    )
    execute(
        "UPDATE findings_auditevent SET sequence = sequence - %s WHERE sequence >= %s",
        [OFFSET - shift, OFFSET],
    )


def forged_after(previous: AuditEvent, sequence: int, *, chained: bool = True) -> AuditEvent:
    """A forged event that follows `previous`, hashed as the app would if `chained`."""
    forged = AuditEvent(
        sequence=sequence,
        previous_hash=previous.hash,
        created_at=previous.created_at,
        action="finding.deleted",
        object_type="finding",
        object_id="1",
        object_repr="SI-001 (forged)",
        permission="system:forger",
    )
    forged.hash = event_hash(forged, previous.hash) if chained else previous.hash
    # INSERT is allowed by the triggers: the chain, not the database, must catch this.
    forged.save()
    return forged


def assert_broken_at(sequence: int, problem: str) -> None:
    with pytest.raises(CommandError, match=rf"broken at event #{sequence}: {problem}") as error:
        call_command("verify_audit")
    # manage.py exits with the error's return code.
    assert error.value.returncode == 1


def test_it_reports_an_intact_trail_and_its_length(total):
    out = StringIO()

    call_command("verify_audit", stdout=out)

    assert out.getvalue() == (
        f"The audit trail is intact: {total} events, each chained to the last.\n"
    )


def test_it_reports_an_empty_trail_as_intact(db):
    out = StringIO()

    call_command("verify_audit", stdout=out)

    assert "intact: 0 events" in out.getvalue()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("object_repr", "SI-001 Nothing to see here"),
        ("action", "finding.viewed"),
        ("actor_username", "someone_else"),
        ("permission", "system:forger"),
        ("request_id", "forged-request"),
        ("ip_address", "10.9.8.7"),
        ("user_agent", "forged agent"),
    ],
)
def test_it_reports_an_altered_event(total, column, value):
    with triggers_dropped():
        execute(
            f"UPDATE findings_auditevent SET {column} = %s WHERE sequence = %s", [value, MIDDLE]
        )

    assert_broken_at(MIDDLE, r"its content no longer matches its hash \(it was altered\)")


@pytest.mark.parametrize(
    ("field", "value"),
    [("after", {"status": "done"}), ("before", {"status": "planned"}), ("object_id", "999")],
)
def test_it_reports_an_event_altered_through_the_base_manager(total, field, value):
    # The base manager skips the queryset's guards; only the dropped triggers stood in its way.
    with triggers_dropped():
        AuditEvent._base_manager.filter(sequence=MIDDLE).update(**{field: value})

    assert_broken_at(MIDDLE, "its content no longer matches its hash")


def test_it_reports_an_altered_timestamp(total):
    moved = event_at(MIDDLE).created_at.replace(year=2001)
    with triggers_dropped():
        AuditEvent._base_manager.filter(sequence=MIDDLE).update(created_at=moved)

    assert_broken_at(MIDDLE, "its content no longer matches its hash")


def test_it_reports_the_next_event_when_the_altered_one_is_rehashed(total):
    altered = event_at(MIDDLE)
    altered.object_repr = "rewritten"
    with triggers_dropped():
        execute(
            "UPDATE findings_auditevent SET object_repr = %s, hash = %s WHERE sequence = %s",
            [altered.object_repr, event_hash(altered, altered.previous_hash), MIDDLE],
        )

    assert_broken_at(MIDDLE + 1, "does not follow the event before it")


def test_it_reports_an_event_deleted_from_the_middle_as_missing(total):
    with triggers_dropped():
        execute("DELETE FROM findings_auditevent WHERE sequence = %s", [MIDDLE])

    assert_broken_at(
        MIDDLE, rf"missing: the chain jumps from #{MIDDLE - 1} to #{MIDDLE + 1} \(events were"
    )


def test_it_reports_the_first_event_deleted(total):
    with triggers_dropped():
        execute("DELETE FROM findings_auditevent WHERE sequence <= 2")

    assert_broken_at(1, "missing: the chain jumps from #0 to #3")


def test_it_reports_a_deletion_hidden_by_renumbering(total):
    with triggers_dropped():
        execute("DELETE FROM findings_auditevent WHERE sequence = %s", [MIDDLE])
        renumber(MIDDLE + 1, -1)
    execute("UPDATE findings_auditchainhead SET sequence = %s", [total - 1])

    assert_broken_at(MIDDLE, "does not follow the event before it")


def test_it_reports_the_newest_events_deleted_by_the_head_check(total):
    with triggers_dropped():
        execute("DELETE FROM findings_auditevent WHERE sequence > %s", [total - 3])

    assert_broken_at(
        total - 2,
        rf"missing: the chain ends at #{total - 3} but its head records #{total} \(the newest",
    )


def test_it_reports_the_newest_events_deleted_with_the_head(total):
    with triggers_dropped():
        execute("DELETE FROM findings_auditevent WHERE sequence > %s", [total - 3])
        execute("DELETE FROM findings_auditchainhead")

    # Only an empty trail has no head: every append creates it, and flush empties both.
    assert_broken_at(total - 2, "the chain's head is missing")


@pytest.mark.parametrize(
    ("chained", "reported", "problem"),
    [
        # A forger who hashes like the app makes a valid link; the next event no longer follows.
        (True, MIDDLE + 1, "does not follow the event before it"),
        (False, MIDDLE, "its content no longer matches its hash"),
    ],
)
def test_it_reports_an_event_inserted_in_the_middle(total, chained, reported, problem):
    with triggers_dropped():
        renumber(MIDDLE, 1)
    forged_after(event_at(MIDDLE - 1), MIDDLE, chained=chained)
    execute("UPDATE findings_auditchainhead SET sequence = %s", [total + 1])

    assert_broken_at(reported, problem)


def test_it_reports_an_event_appended_behind_the_heads_back(total):
    forged_after(event_at(total), total + 1)

    assert_broken_at(total + 1, rf"comes after the chain's head, #{total}")


@pytest.mark.parametrize(("first", "second"), [(30, 60), (MIDDLE, MIDDLE + 1), (1, 2)])
def test_it_reports_swapped_events_at_the_first_of_them(total, first, second):
    with triggers_dropped():
        execute("UPDATE findings_auditevent SET sequence = -1 WHERE sequence = %s", [first])
        execute("UPDATE findings_auditevent SET sequence = %s WHERE sequence = %s", [first, second])
        execute("UPDATE findings_auditevent SET sequence = %s WHERE sequence = -1", [second])

    assert_broken_at(first, "does not follow the event before it")


def test_it_reports_a_head_with_an_altered_hash(total):
    execute("UPDATE findings_auditchainhead SET hash = %s WHERE id = %s", ["a" * 64, HEAD_ID])

    assert_broken_at(total, "the chain's head does not match it")


def test_it_reports_a_head_moved_past_the_last_event(total):
    execute("UPDATE findings_auditchainhead SET sequence = %s", [total + 2])

    assert_broken_at(
        total + 1, rf"missing: the chain ends at #{total} but its head records #{total + 2}"
    )


def test_it_reports_a_head_moved_back_at_the_first_event_past_it(total):
    earlier = event_at(total - 5)
    execute(
        "UPDATE findings_auditchainhead SET sequence = %s, hash = %s",
        [earlier.sequence, earlier.hash],
    )

    assert_broken_at(total - 4, rf"comes after the chain's head, #{total - 5}")


def test_it_says_how_many_events_before_the_break_hold(total):
    with triggers_dropped():
        execute("UPDATE findings_auditevent SET action = 'x' WHERE sequence = %s", [MIDDLE])

    with pytest.raises(CommandError, match=rf"{MIDDLE - 1} events before it are intact"):
        call_command("verify_audit")


def test_it_finds_a_break_past_its_first_batch(total):
    with triggers_dropped():
        execute("UPDATE findings_auditevent SET action = 'x' WHERE sequence = %s", [MIDDLE])

    intact, chain_break = chain_verify(batch_size=7)

    assert (intact, chain_break.sequence) == (MIDDLE - 1, MIDDLE)


def test_the_triggers_are_back_after_the_tampering(total):
    with triggers_dropped():
        pass

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute("DELETE FROM findings_auditevent WHERE sequence = 1")
    assert AuditChainHead.objects.get(pk=HEAD_ID).sequence == total
