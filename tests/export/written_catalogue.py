"""The seeded catalogue with every section of every planned finding written, as authors would.

Each finding gets its own migration (BEGIN/COMMIT around a PL/pgSQL function with optimistic
locking, a table and an index), a Go manager with a method, database tests with a test function
and the seed's 50 concurrent workers, prose for sections 1 and 6 and a rollback. `text=` writes
one given text into every section instead, to show what QA makes of it.
"""

import re

from findings.export.qa import WRITTEN_FIELDS
from findings.models import Finding
from findings.services.audit import ActionContext
from findings.services.findings import finding_update

MIGRATION = """\
BEGIN;

CREATE TABLE IF NOT EXISTS {entity}_events (
    id BIGSERIAL PRIMARY KEY,
    entity_id UUID NOT NULL,
    event_type VARCHAR(50) NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS {entity}_events_entity_idx ON {entity}_events (entity_id, version);

CREATE OR REPLACE FUNCTION atomic_{entity}_operation(
    p_entity_id UUID,
    p_expected_version BIGINT,
    p_event_type VARCHAR(50)
) RETURNS TABLE(success BOOLEAN, new_version BIGINT, conflict_version BIGINT) AS $$
DECLARE
    v_current BIGINT;
BEGIN
    SELECT COALESCE(MAX(e.version), 0) INTO v_current
    FROM {entity}_events e WHERE e.entity_id = p_entity_id;
    IF v_current <> p_expected_version THEN
        RETURN QUERY SELECT FALSE, v_current, v_current;
        RETURN;
    END IF;
    INSERT INTO {entity}_events (entity_id, event_type, version)
    VALUES (p_entity_id, p_event_type, v_current + 1);
    RETURN QUERY SELECT TRUE, v_current + 1, NULL::BIGINT;
END;
$$ LANGUAGE plpgsql;

COMMIT;"""

ROLLBACK = """\
BEGIN;
DROP FUNCTION IF EXISTS atomic_{entity}_operation(UUID, BIGINT, VARCHAR);
DROP TABLE IF EXISTS {entity}_events;
COMMIT;"""

GO_IMPLEMENTATION = """\
package store

import (
\t"context"
\t"fmt"

\t"github.com/jmoiron/sqlx"
)

type {name}Manager struct {{
\tdb *sqlx.DB
}}

// Apply records one event if the entity is still at the expected version.
func (m *{name}Manager) Apply(ctx context.Context, id string, expected int64) (int64, error) {{
\tvar ok bool
\tvar version, conflict *int64
\terr := m.db.QueryRowxContext(ctx,
\t\t`SELECT success, new_version, conflict_version
\t\t FROM atomic_{entity}_operation($1, $2, 'applied')`,
\t\tid, expected).Scan(&ok, &version, &conflict)
\tif err != nil {{
\t\treturn 0, fmt.Errorf("{code} apply: %w", err)
\t}}
\tif !ok {{
\t\treturn 0, fmt.Errorf("{code} apply: version %d is stale, now %d", expected, *conflict)
\t}}
\treturn *version, nil
}}"""

DATABASE_TESTS = """\
package store

import (
\t"context"
\t"sync"
\t"testing"

\t"github.com/stretchr/testify/suite"
)

type {name}TestSuite struct {{
\tsuite.Suite
\tmanager *{name}Manager
}}

func Test{name}Integration(t *testing.T) {{
\tsuite.Run(t, new({name}TestSuite))
}}

func (s *{name}TestSuite) TestConcurrentApply() {{
\tconst numWorkers = 50
\tvar wg sync.WaitGroup
\tapplied := make(chan int64, numWorkers)
\tfor workerID := 0; workerID < numWorkers; workerID++ {{
\t\twg.Add(1)
\t\tgo func() {{
\t\t\tdefer wg.Done()
\t\t\tif version, err := s.manager.Apply(context.Background(), "entity", 0); err == nil {{
\t\t\t\tapplied <- version
\t\t\t}}
\t\t}}()
\t}}
\twg.Wait()
\tclose(applied)
\ts.Len(applied, 1, "exactly one worker wins the version")
}}"""


def written_sections(code: str) -> dict[str, object]:
    """Every written field of one finding, as an author would fill them in."""
    entity = re.sub(r"[^a-z0-9]+", "_", code.lower())
    values = {"code": code, "entity": entity, "name": re.sub(r"[^A-Za-z0-9]", "", code)}
    return {
        "title": f"{code} optimistic event log",
        "effort_min_days": 2,
        "effort_max_days": 4,
        "problem_statement": f"Concurrent writers of {code}'s entities overwrite each other.",
        "root_cause": "Updates read the row, then write it back without a version check.",
        "impact": "Lost updates leave campaigns in states no audit event explains.",
        "integration_points": "The campaign service calls the new function inside its tx.",
        "migration_sql": MIGRATION.format(**values),
        "go_implementation": GO_IMPLEMENTATION.format(**values),
        "database_tests": DATABASE_TESTS.format(**values),
        "success_functional": "Exactly one of 50 concurrent writers wins each version.",
        "success_performance": "p95 of the function stays under 5 ms at 500 writes a second.",
        "success_security": "Every accepted change writes one audit event.",
        "success_integration": "The campaign service retries on a stale version.",
        "rollback_sql": ROLLBACK.format(**values),
    }


def catalogue_write(*, context: ActionContext, text: str | None = None) -> list[Finding]:
    """Write every section of every finding that has a document, through finding_update."""
    findings = list(Finding.objects.filter(document__isnull=False).order_by("code"))
    for finding in findings:
        sections = written_sections(finding.code)
        if text is not None:
            written = set(WRITTEN_FIELDS) - {"effort"}
            sections = {name: text if name in written else value
                        for name, value in sections.items()}  # fmt: skip
        for name, value in sections.items():
            setattr(finding, name, value)
        finding_update(finding=finding, context=context)
    return findings
