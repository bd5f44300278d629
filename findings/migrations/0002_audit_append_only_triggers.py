"""Database triggers that refuse changes to audit events, whatever client makes them.

The SQL lives in findings.db_triggers; migration 0004 narrows PostgreSQL's purge to the owner.
"""

from django.db import migrations

from findings.db_triggers import (
    POSTGRESQL_DROP,
    POSTGRESQL_FUNCTION_ANY_PURGE,
    POSTGRESQL_TRIGGERS,
    SQLITE_CREATE,
    SQLITE_DROP,
)

POSTGRESQL_CREATE = POSTGRESQL_FUNCTION_ANY_PURGE + POSTGRESQL_TRIGGERS


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("findings", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
