"""System checks of the database itself: its triggers exist (findings.db_triggers).

A migration that rebuilds a table on SQLite (to alter a column, say) drops the table's triggers
without a word, and anyone with the owner's rights can drop them on PostgreSQL: the counters
then drift and the audit trail can be rewritten, with nothing failing.
"""

from django.apps import apps
from django.core.checks import Error, Tags, register
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.migrations.loader import MigrationLoader

from findings.db_triggers import expected_objects

HINT = (
    "Find out what removed or disabled it. A migration that rebuilds the table (SQLite rebuilds "
    "a table to alter it) must create its triggers again after its schema changes, as migration "
    "0003 does; the SQL is in findings.db_triggers."
)


# Tagged as a database check but run without --database too, on the default database:
# `manage.py check --deploy` in scripts/serve and runserver run no database checks otherwise.
@register(Tags.database)
def triggers_present(app_configs=None, databases=None, **kwargs) -> list[Error]:
    """findings.E001 for each trigger or trigger function missing (or disabled) on a database.

    Skipped, without error, for a database that cannot be reached or has findings migrations
    still to apply: `migrate` creates the triggers, and runs its checks before it does.
    """
    findings = apps.get_app_config("findings")
    if app_configs is not None and findings not in app_configs:
        return []
    errors = []
    for alias in databases or [DEFAULT_DB_ALIAS]:
        connection = connections[alias]
        try:
            if not _fully_migrated(connection, findings.label):
                continue
            problems = _trigger_problems(connection)
        except OperationalError:
            continue
        errors += [
            Error(f"Database {alias!r}: {problem}.", hint=HINT, id="findings.E001")
            for problem in problems
        ]
    return errors


def _fully_migrated(connection, app_label: str) -> bool:
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    migrations = {key for key in loader.disk_migrations if key[0] == app_label}
    return migrations <= set(loader.applied_migrations)


def _trigger_problems(connection) -> list[str]:
    expected = expected_objects(connection.vendor)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname, t.tgenabled = 'D' FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)"
            )
            present = {(table, trigger): disabled for table, trigger, disabled in cursor}
            cursor.execute(
                "SELECT proname FROM pg_proc WHERE pg_function_is_visible(oid) "
                "AND proname = ANY(%s)",
                [sorted(expected.functions)],
            )
            functions = {name for (name,) in cursor}
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
            present = dict.fromkeys(cursor.fetchall(), False)
            functions = set()
    problems = [
        f"trigger {trigger} on {table} is missing"
        for table, trigger in sorted(expected.triggers)
        if (table, trigger) not in present
    ]
    problems += [
        f"trigger {trigger} on {table} is disabled"
        for table, trigger in sorted(expected.triggers)
        if present.get((table, trigger))
    ]
    problems += [
        f"trigger function {function}() is missing"
        for function in sorted(expected.functions - functions)
    ]
    return problems
