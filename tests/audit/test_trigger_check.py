"""The system check findings.E001: every trigger the migrations create is on the database.

The tests drop triggers inside their own transaction, whose rollback restores them: DDL is
transactional on both engines.
"""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection

from findings.checks import triggers_present
from findings.db_triggers import expected_objects

SQLITE = {
    "audit": ("findings_auditevent", "findings_auditevent_no_update"),
    "progress": ("findings_checklistitem", "findings_phase_progress_item_added"),
}
POSTGRESQL = {
    "audit": ("findings_auditevent", "findings_auditevent_append_only"),
    "progress": ("findings_checklistitem", "findings_phase_progress_items_inserted"),
}


def trigger(kind: str) -> tuple[str, str]:
    return (POSTGRESQL if connection.vendor == "postgresql" else SQLITE)[kind]


def execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def drop_trigger(table: str, name: str) -> None:
    execute(
        f"DROP TRIGGER {name} ON {table}"
        if connection.vendor == "postgresql"
        else f"DROP TRIGGER {name}"
    )


def check_refusal() -> str:
    with pytest.raises(SystemCheckError) as refusal:
        call_command("check")
    return str(refusal.value)


def test_it_passes_on_the_migrated_database(db):
    call_command("check")

    assert triggers_present() == []


def test_it_expects_the_triggers_of_both_modules(db):
    expected = expected_objects(connection.vendor)

    assert {trigger("audit"), trigger("progress")} <= expected.triggers
    assert len(expected.triggers) == {"postgresql": 18, "sqlite": 17}[connection.vendor]


@pytest.mark.parametrize("kind", ["audit", "progress"])
def test_it_names_a_dropped_trigger(db, kind):
    table, name = trigger(kind)
    drop_trigger(table, name)

    refusal = check_refusal()

    assert re.search(rf"findings\.E001\) .*: trigger {name} on {table} is missing\.", refusal)
    assert refusal.count("findings.E001") == 1


def test_it_names_every_dropped_trigger(db):
    for kind in ("audit", "progress"):
        drop_trigger(*trigger(kind))

    errors = triggers_present()

    assert [error.id for error in errors] == ["findings.E001", "findings.E001"]
    assert {name for _, name in (trigger("audit"), trigger("progress"))} == {
        re.search(r"trigger (\w+) on", error.msg).group(1) for error in errors
    }


@pytest.mark.postgres_only
def test_it_names_a_dropped_trigger_function(db):
    execute("DROP FUNCTION findings_phase_progress_recount() CASCADE")

    refusal = check_refusal()

    assert "trigger function findings_phase_progress_recount() is missing." in refusal
    assert "trigger findings_phase_progress_findings_truncated on findings_finding" in refusal


@pytest.mark.postgres_only
def test_it_names_a_disabled_trigger(db):
    execute("ALTER TABLE findings_phase DISABLE TRIGGER findings_phase_progress_phase_added")

    refusal = check_refusal()

    assert "trigger findings_phase_progress_phase_added on findings_phase is disabled." in refusal


def test_it_skips_a_database_with_findings_migrations_to_apply(db):
    drop_trigger(*trigger("progress"))
    execute(
        "DELETE FROM django_migrations WHERE app = 'findings' AND name = "
        "(SELECT max(name) FROM django_migrations WHERE app = 'findings')"
    )

    assert triggers_present() == []
