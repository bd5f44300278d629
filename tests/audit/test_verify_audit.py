"""`manage.py verify_audit`: each kind of tampering is reported at the first event it breaks.

The tampering is done behind the app's back, with raw SQL: as the app's own role where it can,
and as the tables' owner with the append-only triggers dropped for the moment where it cannot.
The DDL is part of the test's transaction, so it is rolled back with it on both databases, and
the triggers are recreated at once anyway. The app's work, and the command, run as the app role.
"""

import hashlib
import json
import logging
from contextlib import contextmanager
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from pythonjsonlogger.json import JsonFormatter

from findings import db_triggers
from findings.audit_chain import AUDIT_LOGGER, HEAD_ID, chain_key_id, chain_verify, event_hash
from findings.models import AuditChainHead, AuditEvent, Phase
from findings.services.audit import ActionContext, audit_record
from tests.database_roles import as_owner

pytestmark = pytest.mark.usefixtures("as_app_role")

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
    """Tamper as the tables' owner, who alone may drop their triggers."""
    if connection.vendor == "postgresql":
        drop = [db_triggers.POSTGRESQL_DROP]
        create = [db_triggers.POSTGRESQL_FUNCTION_OWNER_PURGE + db_triggers.POSTGRESQL_TRIGGERS]
    else:
        drop, create = db_triggers.SQLITE_DROP, db_triggers.SQLITE_CREATE
    with as_owner():
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


def plain_sha256(event: AuditEvent, previous_hash: str) -> str:
    """The unkeyed hash the chain used before AUDIT_CHAIN_KEY, which anyone can recompute."""
    payload = {
        "sequence": event.sequence,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "finding_id": event.finding_id,
        "before": event.before,
        "after": event.after,
        "permission": event.permission,
        "request_id": event.request_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


WRONG_KEY = "a key the forger guessed"
# How a forger signs an event: (key id it claims, hash function).
SIGNINGS = {
    "with the key": (
        lambda: chain_key_id(settings.AUDIT_CHAIN_KEY),
        lambda event, previous: event_hash(event, previous, settings.AUDIT_CHAIN_KEY),
    ),
    "by copying the previous hash": (lambda: chain_key_id(settings.AUDIT_CHAIN_KEY), None),
    "with plain SHA-256 and no key id": (lambda: None, plain_sha256),
    "with plain SHA-256 and the key's id": (
        lambda: chain_key_id(settings.AUDIT_CHAIN_KEY),
        plain_sha256,
    ),
    "with a wrong key under the key's id": (
        lambda: chain_key_id(settings.AUDIT_CHAIN_KEY),
        lambda event, previous: event_hash(event, previous, WRONG_KEY),
    ),
    "with a wrong key under its own id": (
        lambda: chain_key_id(WRONG_KEY),
        lambda event, previous: event_hash(event, previous, WRONG_KEY),
    ),
}


def forged_after(
    previous: AuditEvent, sequence: int, *, signing: str = "with the key"
) -> AuditEvent:
    """A forged event that follows `previous`, signed as `signing` (one of SIGNINGS) says."""
    key_id, sign = SIGNINGS[signing]
    forged = AuditEvent(
        sequence=sequence,
        previous_hash=previous.hash,
        key_id=key_id(),
        created_at=previous.created_at,
        action="finding.deleted",
        object_type="finding",
        object_id="1",
        object_repr="SI-001 (forged)",
        permission="system:forger",
    )
    forged.hash = sign(forged, previous.hash) if sign else previous.hash
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
            [
                altered.object_repr,
                event_hash(altered, altered.previous_hash, settings.AUDIT_CHAIN_KEY),
                MIDDLE,
            ],
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
    ("signing", "reported", "problem"),
    [
        # A forger who holds the key makes a valid link; the next event no longer follows.
        ("with the key", MIDDLE + 1, "does not follow the event before it"),
        ("by copying the previous hash", MIDDLE, "its content no longer matches its hash"),
        ("with plain SHA-256 and the key's id", MIDDLE, "its content no longer matches its hash"),
    ],
)
def test_it_reports_an_event_inserted_in_the_middle(total, signing, reported, problem):
    with triggers_dropped():
        renumber(MIDDLE, 1)
    forged_after(event_at(MIDDLE - 1), MIDDLE, signing=signing)
    execute("UPDATE findings_auditchainhead SET sequence = %s", [total + 1])

    assert_broken_at(reported, problem)


@pytest.mark.parametrize(
    ("signing", "problem"),
    [
        ("with plain SHA-256 and no key id", r"it names no key \(it was forged"),
        ("with plain SHA-256 and the key's id", "its content no longer matches its hash"),
        ("with a wrong key under the key's id", "its content no longer matches its hash"),
        (
            "with a wrong key under its own id",
            rf"it was signed with key id {chain_key_id(WRONG_KEY)}, which is neither",
        ),
    ],
)
def test_it_reports_a_newest_event_forged_without_the_key_and_chained_by_the_head(
    total, signing, problem
):
    forged = forged_after(event_at(total), total + 1, signing=signing)
    execute("UPDATE findings_auditchainhead SET sequence = %s, hash = %s", [total + 1, forged.hash])

    assert_broken_at(total + 1, problem)


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

    with as_owner(), pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        execute("DELETE FROM findings_auditevent WHERE sequence = 1")
    assert AuditChainHead.objects.get(pk=HEAD_ID).sequence == total


@pytest.fixture
def logged(total, tmp_path, caplog, django_capture_on_commit_callbacks):
    """Three more appends, committed as the app commits them, and the app's log of them in a file.

    The log mixes in a line that is not JSON and a request-log line, as gunicorn's stderr does.
    """
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    phase = Phase.objects.get(code="2A")
    with django_capture_on_commit_callbacks(execute=True):
        for step in range(3):
            audit_record(
                context=ActionContext.system("test"),
                action="phase.checked",
                obj=phase,
                permission="system:test",
                after={"step": step},
            )
    # The formatter LOGGING put on the root handler: the lines production writes.
    [formatter] = [
        handler.formatter
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, JsonFormatter)
    ]
    lines = [
        "[2025-01-01 00:00:00 +0000] [1] [INFO] Booting worker with pid: 1",
        json.dumps({"logger": "domainflow.requests", "audit_sequence": 10**6, "path": "/"}),
        *(formatter.format(record) for record in caplog.records if record.name == AUDIT_LOGGER),
    ]
    log = tmp_path / "app.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return log


def test_it_logs_the_sequence_and_hash_of_each_committed_append(total, logged):
    entries = [json.loads(line) for line in logged.read_text().splitlines()[2:]]

    assert [(entry["audit_sequence"], entry["audit_hash"]) for entry in entries] == [
        (event.sequence, event.hash) for event in AuditEvent.objects.order_by("sequence")[total:]
    ]


def test_it_proves_the_database_holds_the_newest_event_the_log_saw(total, logged):
    out = StringIO()

    call_command("verify_audit", "--log", str(logged), stdout=out)

    assert out.getvalue() == (
        f"The audit trail is intact: {total + 3} events, each chained to the last.\n"
        f"It still holds #{total + 3}, the newest event {logged} saw.\n"
    )


def test_it_reports_a_cut_tail_and_a_rewound_head_that_the_log_saw(total, logged):
    newest, kept = event_at(total + 3), event_at(total + 1)
    with triggers_dropped():
        execute("DELETE FROM findings_auditevent WHERE sequence > %s", [total + 1])
    execute("UPDATE findings_auditchainhead SET sequence = %s, hash = %s", [total + 1, kept.hash])
    # Without the log the shorter chain is a valid one.
    call_command("verify_audit", stdout=StringIO())

    with pytest.raises(CommandError) as error:
        call_command("verify_audit", "--log", str(logged))

    assert str(error.value) == (
        f"The audit trail is broken at event #{total + 3}: the log saw #{total + 3} with hash "
        f"{newest.hash}, the database's chain ends at #{total + 1} (the newest events were "
        f"deleted and the head moved back). {total + 1} events before it are intact."
    )


def test_it_reports_a_newest_event_rewritten_with_the_key_that_the_log_saw(total, logged):
    # Someone who holds the key can re-sign what they rewrite; the log still knows the old hash.
    rewritten = event_at(total + 3)
    rewritten.object_repr = "rewritten"
    rehashed = event_hash(rewritten, rewritten.previous_hash, settings.AUDIT_CHAIN_KEY)
    with triggers_dropped():
        execute(
            "UPDATE findings_auditevent SET object_repr = %s, hash = %s WHERE sequence = %s",
            [rewritten.object_repr, rehashed, total + 3],
        )
    execute("UPDATE findings_auditchainhead SET hash = %s", [rehashed])
    call_command("verify_audit", stdout=StringIO())

    with pytest.raises(
        CommandError, match=rf"the database holds #{total + 3} with hash {rehashed}"
    ):
        call_command("verify_audit", "--log", str(logged))


def test_it_refuses_a_log_without_audit_lines(total, tmp_path):
    log = tmp_path / "requests.log"
    log.write_text('{"logger": "domainflow.requests", "path": "/"}\nnot json\n[1, 2]\n')

    with pytest.raises(CommandError, match="records no append to the audit trail"):
        call_command("verify_audit", "--log", str(log))


def test_it_refuses_a_log_it_cannot_read(total, tmp_path):
    with pytest.raises(CommandError, match="Cannot read the log .*missing.log: No such file"):
        call_command("verify_audit", "--log", str(tmp_path / "missing.log"))
