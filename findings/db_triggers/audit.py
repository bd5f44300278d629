"""The triggers that keep audit rows append-only, whatever client connects.

UPDATE is always refused. DELETE (and TRUNCATE on PostgreSQL) is refused unless the session has
been allowed to purge, which only `manage.py flush` does (findings.audit_chain); on PostgreSQL
the purge setting counts only for the tables' owner, so the app's own role (see
findings.db_roles) cannot purge whatever it sets. The chain's head row may be updated (every
append does) but not deleted.

Migrations 0002 (the triggers) and 0004 (the owner-only purge) run this SQL.
"""

from contextlib import contextmanager

POSTGRESQL_FUNCTION_ANY_PURGE = """
CREATE OR REPLACE FUNCTION findings_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND coalesce(current_setting('domainflow.audit_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""
# Any session may SET a custom setting, so it counts only for a role with the owner's privileges
# (or a superuser): pg_has_role is the test PostgreSQL itself applies to owner-only commands.
POSTGRESQL_FUNCTION_OWNER_PURGE = """
CREATE OR REPLACE FUNCTION findings_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND coalesce(current_setting('domainflow.audit_purge', true), '') = 'on'
       AND pg_has_role(
           current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE'
       ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""
POSTGRESQL_TRIGGERS = """
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


@contextmanager
def audit_triggers_suspended(connection):
    """Let the block rewrite audit rows: for a migration that re-signs the chain, as the owner.

    Call inside a transaction, whose rollback restores the triggers if the block fails. On
    PostgreSQL only the tables' owner may disable them; on SQLite they are dropped and created
    again.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE findings_auditevent DISABLE TRIGGER USER")
        else:
            for statement in SQLITE_DROP:
                cursor.execute(statement)
        yield
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE findings_auditevent ENABLE TRIGGER USER")
        else:
            for statement in SQLITE_CREATE:
                cursor.execute(statement)
