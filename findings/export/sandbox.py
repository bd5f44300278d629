"""QA's migration sandbox: does a finding's migration apply, and does its rollback undo it?

With settings.QA_SANDBOX_DATABASE_URL set, each check runs the author's migration and then the
rollback, as psql would run a file, in a fresh schema of that PostgreSQL database, and compares
the catalogue before and after. Author-written SQL never reaches the app's database: it runs
over its own psycopg connection to another database (PostgreSQL has no statement that crosses
databases), as a role that owns only that database, so a `COMMIT;` or a `DROP TABLE` in it can
at worst harm the sandbox, which each check empties with DROP OWNED before and after.

Checks take an advisory lock on a second connection, which the author's SQL cannot release, so
two checks never share the sandbox. Results are cached by the SQL they ran (`sandbox_problems`).
"""

import hashlib
import secrets
import threading
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.core.cache import cache
from psycopg import sql

# Each statement's bound inside the sandbox, and the whole check's, for SQL that lifts its own.
STATEMENT_TIMEOUT_MS = 5_000
CHECK_DEADLINE_SECONDS = 20
CONNECT_TIMEOUT_SECONDS = 5
# Arbitrary, fixed: the advisory lock that serialises checks in the sandbox database.
SANDBOX_LOCK_KEY = 0x5A4D_B0C5
OBJECTS_NAMED = 5
# Raise it when the check itself changes, so cached results of the old check are not reused.
CHECK_VERSION = 1

# Everything a migration could create in one database, named so that two catalogues compare:
# the check's own schema is renamed to "<sandbox>", since each check gets a fresh one.
_CATALOGUE = """
WITH spaces AS (
    SELECT oid, CASE WHEN nspname = %(schema)s THEN '<sandbox>' ELSE nspname END AS name
    FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema')
      AND nspname NOT LIKE 'pg\\_toast%%' AND nspname NOT LIKE 'pg\\_temp\\_%%'
)
SELECT 'schema', s.name FROM spaces s
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence'
            WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'p' THEN 'table'
            WHEN 'I' THEN 'index' ELSE 'relation' END, s.name || '.' || c.relname
FROM pg_class c JOIN spaces s ON s.oid = c.relnamespace
UNION ALL
SELECT 'column', s.name || '.' || c.relname || '.' || a.attname || ' '
       || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN spaces s ON s.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
       s.name || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc p JOIN spaces s ON s.oid = p.pronamespace
UNION ALL
SELECT 'type', s.name || '.' || t.typname
FROM pg_type t JOIN spaces s ON s.oid = t.typnamespace
WHERE t.typrelid = 0 AND NOT (t.typelem <> 0 AND t.typname LIKE '\\_%%')
UNION ALL
SELECT 'constraint', s.name || '.' || c.conname || ' ' || pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN spaces s ON s.oid = c.connamespace
UNION ALL
SELECT 'trigger', s.name || '.' || c.relname || '.' || t.tgname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN spaces s ON s.oid = c.relnamespace
WHERE NOT t.tgisinternal
UNION ALL
SELECT 'policy', s.name || '.' || c.relname || '.' || p.polname
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN spaces s ON s.oid = c.relnamespace
UNION ALL
SELECT 'operator', s.name || '.' || o.oprname
FROM pg_operator o JOIN spaces s ON s.oid = o.oprnamespace
UNION ALL
SELECT 'extension', extname FROM pg_extension WHERE extname <> 'plpgsql'
"""


@dataclass(frozen=True)
class SandboxProblem:
    # "migration_sql" or "rollback_sql".
    field: str
    # 1-based, in the field's text; 0 when the problem is the field as a whole.
    line: int
    # "applies" or "reverts".
    check: str
    message: str


class SandboxUnavailable(Exception):
    """The sandbox database cannot be reached: the check is not run, nothing is judged."""


def sandbox_enabled() -> bool:
    return bool(settings.QA_SANDBOX_DATABASE_URL)


def sandbox_problems(*, migration: str, rollback: str) -> list[SandboxProblem]:
    """The sandbox's verdict on a migration and its rollback, cached by their text."""
    digest = hashlib.sha256(f"{migration}\0{rollback}".encode()).hexdigest()
    key = f"qa-sandbox:{CHECK_VERSION}:{digest}"
    found = cache.get(key)
    if found is None:
        found = sandbox_check(migration=migration, rollback=rollback)
        cache.set(key, found, timeout=None)
    return found


def sandbox_check(*, migration: str, rollback: str) -> list[SandboxProblem]:
    """Apply `migration`, then `rollback` (skipped when empty), from an empty schema.

    Raises SandboxUnavailable when the sandbox cannot be reached.
    """
    url = settings.QA_SANDBOX_DATABASE_URL
    try:
        with _connect(url) as guard:
            guard.execute("SELECT pg_advisory_lock(%s)", [SANDBOX_LOCK_KEY])
            _empty(guard)
            try:
                return _check(guard, url, migration, rollback)
            finally:
                _empty(guard)
    except psycopg.OperationalError as error:
        raise SandboxUnavailable(f"the migration sandbox cannot be reached: {error}") from error


def _connect(url: str) -> psycopg.Connection:
    # Given at connection start, these outrank what ALTER ROLE or ALTER DATABASE may have set.
    options = (
        f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS} "
        f"-c idle_in_transaction_session_timeout={CHECK_DEADLINE_SECONDS * 1000}"
    )
    return psycopg.connect(
        url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS, options=options
    )


def _empty(guard: psycopg.Connection) -> None:
    """Drop everything the sandbox role owns in the sandbox: what any check left behind."""
    guard.execute("DROP OWNED BY CURRENT_USER")


def _check(
    guard: psycopg.Connection, url: str, migration: str, rollback: str
) -> list[SandboxProblem]:
    """The catalogue is read by the guard's session, which the author's SQL cannot reconfigure."""
    schema = f"qa_check_{secrets.token_hex(6)}"
    with _connect(url) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        before = _catalogue(guard, schema)
        problem = _run(connection, "migration_sql", migration)
        if problem or not rollback.strip():
            return [problem] if problem else []
        applied = _catalogue(guard, schema)
        problem = _run(connection, "rollback_sql", rollback)
        if problem:
            return [problem]
        after = _catalogue(guard, schema)
    if after == before:
        return []
    if after == applied and applied != before:
        return [SandboxProblem("rollback_sql", 0, "reverts", "the rollback undoes nothing")]
    return [SandboxProblem("rollback_sql", 0, "reverts", _difference(before, after))]


def _run(connection: psycopg.Connection, field: str, text: str) -> SandboxProblem | None:
    """Run the field's SQL as one script; a cancel stops SQL that lifted the statement timeout."""
    watchdog = threading.Timer(CHECK_DEADLINE_SECONDS, connection.cancel_safe)
    watchdog.start()
    try:
        # Without parameters psycopg sends the simple query protocol, so the text may hold
        # several statements and its own BEGIN and COMMIT, as a migration file does.
        connection.execute(text.encode())
    except psycopg.errors.QueryCanceled:
        return SandboxProblem(field, 0, "applies", f"{_name(field)} did not finish in time")
    except psycopg.Error as error:
        line = _error_line(text, error.diag.statement_position)
        return SandboxProblem(field, line, "applies", f"{_name(field)} does not apply: "
                              f"{(error.diag.message_primary or str(error)).strip()}")  # fmt: skip
    finally:
        watchdog.cancel()
    # A script that opened a transaction and left it open has not applied yet.
    if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        connection.execute("ROLLBACK")
        return SandboxProblem(field, 0, "applies", f"{_name(field)} leaves its transaction open "
                              "(BEGIN without COMMIT), so nothing of it is applied")  # fmt: skip
    return None


def _name(field: str) -> str:
    return "the migration" if field == "migration_sql" else "the rollback"


def _error_line(text: str, position: str | None) -> int:
    if not position or not position.isdigit():
        return 0
    # PostgreSQL counts characters of the whole script from 1.
    return text[: int(position) - 1].count("\n") + 1


def _catalogue(connection: psycopg.Connection, schema: str) -> frozenset[tuple[str, str]]:
    rows = connection.execute(_CATALOGUE, {"schema": schema}).fetchall()
    return frozenset(rows)


def _difference(before: frozenset, after: frozenset) -> str:
    parts = []
    for verb, objects in (("leaves behind", after - before), ("removes", before - after)):
        named = sorted(objects, key=lambda item: (_KIND_ORDER.get(item[0], 9), item[1]))
        if named:
            shown = ", ".join(
                f"{kind} {name.removeprefix('<sandbox>.')}" for kind, name in named[:OBJECTS_NAMED]
            )
            more = f" and {len(named) - OBJECTS_NAMED} more" if len(named) > OBJECTS_NAMED else ""
            parts.append(f"{verb} {shown}{more}")
    return f"the rollback does not return the schema to where it started: {'; '.join(parts)}"


_KIND_ORDER = {"schema": 0, "table": 1, "function": 2, "procedure": 2, "type": 3, "view": 4}
