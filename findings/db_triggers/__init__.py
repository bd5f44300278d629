"""The database's own triggers and trigger functions: their SQL, and the list of what must exist.

- audit: audit rows are append-only, whatever client connects (migrations 0002 and 0004).
- progress: each phase's progress figures, kept as rows change (migration 0003).

Migrations import this SQL, so a migration file is the history, not the only copy; the system
check findings.E001 (findings.checks) reports any trigger of `expected_objects` the database
lacks. A migration replays whatever its functions return today, so the SQL a migration ran never
changes here: to change a trigger, add its new SQL under a new name and a new migration that runs
it, keep the old SQL for the old migration, and point `current_sql` at the new one.
"""

import re
from dataclasses import dataclass

from findings.db_triggers import audit, progress
from findings.db_triggers.audit import (
    POSTGRESQL_DROP,
    POSTGRESQL_FUNCTION_ANY_PURGE,
    POSTGRESQL_FUNCTION_OWNER_PURGE,
    POSTGRESQL_TRIGGERS,
    SQLITE_CREATE,
    SQLITE_DROP,
    audit_triggers_suspended,
)

__all__ = [
    "POSTGRESQL_DROP",
    "POSTGRESQL_FUNCTION_ANY_PURGE",
    "POSTGRESQL_FUNCTION_OWNER_PURGE",
    "POSTGRESQL_TRIGGERS",
    "SQLITE_CREATE",
    "SQLITE_DROP",
    "audit_triggers_suspended",
    "expected_objects",
]

# Read from the SQL itself, so the list of what must exist cannot drift from what is created.
CREATED_TRIGGER = re.compile(r"CREATE\s+TRIGGER\s+(\w+)\s.*?\bON\s+(\w+)", re.DOTALL)
CREATED_FUNCTION = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)")


@dataclass(frozen=True)
class ExpectedObjects:
    triggers: frozenset[tuple[str, str]]  # (table, trigger)
    functions: frozenset[str]


def current_sql(vendor: str) -> list[str]:
    """The trigger SQL the latest migrations have run on a database of `vendor`."""
    if vendor == "postgresql":
        return [
            audit.POSTGRESQL_FUNCTION_OWNER_PURGE,
            audit.POSTGRESQL_TRIGGERS,
            progress.postgresql_create(),
        ]
    if vendor == "sqlite":
        return [*audit.SQLITE_CREATE, *progress.sqlite_create()]
    return []


def expected_objects(vendor: str) -> ExpectedObjects:
    """The triggers and trigger functions the migrations leave on a database of `vendor`."""
    statements = current_sql(vendor)
    return ExpectedObjects(
        triggers=frozenset(
            (table, trigger)
            for sql in statements
            for trigger, table in CREATED_TRIGGER.findall(sql)
        ),
        functions=frozenset(
            function for sql in statements for function in CREATED_FUNCTION.findall(sql)
        ),
    )
