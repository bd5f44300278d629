"""Database triggers that refuse changes to audit events, whatever client makes them.

UPDATE is always refused. DELETE (and TRUNCATE on PostgreSQL) is refused unless the session has
been allowed to purge, which only `manage.py flush` does (findings.audit_chain). The chain's head
row may be updated (every append does) but not deleted.
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE FUNCTION findings_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND coalesce(current_setting('domainflow.audit_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER findings_auditevent_append_only
    BEFORE UPDATE OR DELETE ON findings_auditevent
    FOR EACH ROW EXECUTE FUNCTION findings_audit_append_only();
CREATE TRIGGER findings_auditevent_no_truncate
    BEFORE TRUNCATE ON findings_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION findings_audit_append_only();
CREATE TRIGGER findings_auditchainhead_no_delete
    BEFORE DELETE ON findings_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION findings_audit_append_only();
CREATE TRIGGER findings_auditchainhead_no_truncate
    BEFORE TRUNCATE ON findings_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION findings_audit_append_only();
"""
POSTGRESQL_DROP = """
DROP TRIGGER findings_auditchainhead_no_truncate ON findings_auditchainhead;
DROP TRIGGER findings_auditchainhead_no_delete ON findings_auditchainhead;
DROP TRIGGER findings_auditevent_no_truncate ON findings_auditevent;
DROP TRIGGER findings_auditevent_append_only ON findings_auditevent;
DROP FUNCTION findings_audit_append_only();
"""
SQLITE_CREATE = [
    """
    CREATE TRIGGER findings_auditevent_no_update BEFORE UPDATE ON findings_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER findings_auditevent_no_delete BEFORE DELETE ON findings_auditevent
    WHEN NOT domainflow_audit_purge_allowed()
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END
    """,
    """
    CREATE TRIGGER findings_auditchainhead_no_delete BEFORE DELETE ON findings_auditchainhead
    WHEN NOT domainflow_audit_purge_allowed()
    BEGIN SELECT RAISE(ABORT, 'the audit chain head stays: DELETE refused'); END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER findings_auditevent_no_update",
    "DROP TRIGGER findings_auditevent_no_delete",
    "DROP TRIGGER findings_auditchainhead_no_delete",
]


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
