"""QA's migration sandbox (findings/export/sandbox.py): migrations applied, then rolled back, in a
PostgreSQL database of their own, never in the app's. Needs QA_SANDBOX_DATABASE_URL, which
`make test` sets from its cluster (scripts/postgres-cluster sandbox)."""

import pytest
from django.conf import settings
from django.db import connection

from findings.export.sandbox import SandboxProblem, sandbox_check
from findings.models import Finding

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not settings.QA_SANDBOX_DATABASE_URL, reason="needs QA_SANDBOX_DATABASE_URL"
    ),
]

MIGRATION = """\
BEGIN;
CREATE TABLE ledger_events (id BIGSERIAL PRIMARY KEY, version BIGINT NOT NULL);
CREATE FUNCTION ledger_next(p_version BIGINT) RETURNS BIGINT AS $$
BEGIN
    RETURN p_version + 1;
END;
$$ LANGUAGE plpgsql;
COMMIT;"""
ROLLBACK = """\
BEGIN;
DROP FUNCTION ledger_next(BIGINT);
DROP TABLE ledger_events;
COMMIT;"""


def test_it_passes_a_migration_whose_rollback_restores_the_schema():
    assert sandbox_check(migration=MIGRATION, rollback=ROLLBACK) == []


def test_it_fails_a_syntax_error_inside_a_plpgsql_body():
    broken = MIGRATION.replace("RETURN p_version + 1;", "RETURN p_version +;")

    assert sandbox_check(migration=broken, rollback=ROLLBACK) == [
        SandboxProblem(
            "migration_sql",
            5,
            "applies",
            "the migration does not apply: syntax error at end of input",
        )
    ]


def test_it_fails_a_rollback_that_leaves_a_function_behind():
    rollback = "DROP TABLE ledger_events;"

    assert sandbox_check(migration=MIGRATION, rollback=rollback) == [
        SandboxProblem(
            "rollback_sql",
            0,
            "reverts",
            "the rollback does not return the schema to where it started: "
            "leaves behind function ledger_next(p_version bigint)",
        )
    ]


@pytest.mark.django_db(transaction=True)
def test_it_leaves_the_apps_database_untouched_by_a_migration_that_commits_and_drops(catalogue):
    hostile = "CREATE TABLE scratch (id INT);\nCOMMIT;\nDROP TABLE findings_finding;"

    problems = sandbox_check(migration=hostile, rollback="DROP TABLE scratch;")

    assert [problem.check for problem in problems] == ["applies"]
    assert 'table "findings_finding" does not exist' in problems[0].message
    assert Finding.objects.filter(code="SI-001").exists()
    assert "findings_finding" in connection.introspection.table_names()


def test_it_starts_every_check_from_an_empty_schema():
    leftover = "CREATE TABLE ledger_events (id INT);"
    sandbox_check(migration=leftover, rollback="")

    assert sandbox_check(migration=MIGRATION, rollback=ROLLBACK) == []
