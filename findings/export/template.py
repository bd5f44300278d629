"""The seed's Enhanced Document Template, sections 1–6, as the skeleton every document starts from.

The code blocks are copied from TACTICAL_DOCUMENT_GENERATION_PLAN.md (Enhanced Document
Template and Real Database Testing Framework Integration);
tests/export/test_export_template.py reads the seed and proves they still match it, line for line
(the seed's whitespace-only lines are left blank here, as gofmt would leave them). `fill` puts
what the database knows into the placeholders; the ones it cannot fill (`[EntityName]`,
`[OperationName]`, ...) stay visible for QA to report.
"""

import re

# Section 2: the migration after its `-- File:` line, a frame around one example operation. The
# seed's pattern for a finding takes the example's place inside the frame.
MIGRATION_OPENING = """\
BEGIN;

-- Enhanced atomic operations with FOR UPDATE SKIP LOCKED"""

MIGRATION_EXAMPLE = """\
CREATE OR REPLACE FUNCTION atomic_[entity]_operation(
    p_entity_id UUID,
    p_expected_version BIGINT,
    p_operation_data JSONB,
    p_user_context JSONB
) RETURNS TABLE(
    success BOOLEAN,
    new_version BIGINT,
    conflict_version BIGINT,
    error_message TEXT
) AS $$
-- Implementation with optimistic locking and audit integration
$$;"""

MIGRATION_CLOSING = """\
-- Row-level locking patterns
-- Event sourcing tables
-- Performance monitoring functions

COMMIT;"""


def migration_framed(operation: str) -> str:
    """The template's migration with `operation` in place of its example."""
    return f"{MIGRATION_OPENING}\n{operation}\n\n{MIGRATION_CLOSING}"


MIGRATION_SKELETON = migration_framed(MIGRATION_EXAMPLE)

# Section 3.
GO_SKELETON = """\
// File: backend/internal/[service/store]/[specific_file].go
// MODIFY existing file or CREATE new file

// Enhanced patterns with real database integration
type [EntityName]Manager struct {
    db              *sqlx.DB
    txManager       *postgres.TransactionManager
    stateCoordinator *services.StateCoordinator
    auditService    *services.AuditService
}

// Copy-paste ready methods with comprehensive error handling
func (m *[EntityName]Manager) [OperationName](
    ctx context.Context,
    params *[OperationParams],
) (*[OperationResult], error) {
    // Implementation with PostgreSQL patterns
}"""

# Section 4: the test suite of the template ...
TEST_SUITE_SKELETON = """\
// File: backend/internal/[service/store]/[finding_id]_integration_test.go
package [package_name]

import (
    "context"
    "testing"
    "sync"
    "time"

    "github.com/stretchr/testify/suite"
    "your-project/internal/testutil"
    "your-project/internal/models"
)

type [FindingID]TestSuite struct {
    testutil.ServiceTestSuite
    [specific_service] *[ServiceType]
}

func Test[FindingID]Integration(t *testing.T) {
    suite.Run(t, &[FindingID]TestSuite{
        ServiceTestSuite: testutil.ServiceTestSuite{
            UseDatabaseFromEnv: true, // MANDATORY: Real database testing
        },
    })
}

// Concurrent worker testing
// Performance benchmarking
// Transaction consistency validation
// State synchronization testing"""

# ... and, from the Real Database Testing Framework Integration, its environment and pattern.
ENVIRONMENT_SETUP = """\
# Environment variables for real database testing
export TEST_POSTGRES_DSN="postgresql://username:password@localhost/domainflow_production"
export USE_REAL_DATABASE=true
export TEST_TIMEOUT=30s
export RACE_DETECTOR=true

# Required test execution pattern
go test ./... -race -tags=integration -timeout=30s
golangci-lint run --timeout=10m --config=.golangci.yml"""

CONCURRENT_WORKER_PATTERN = """\
// Concurrent worker testing pattern
func (suite *[FindingID]TestSuite) TestConcurrent[Operation]() {
    const numWorkers = 50
    const operationsPerWorker = 10

    var wg sync.WaitGroup
    errors := make(chan error, numWorkers*operationsPerWorker)
    results := make(chan [OperationResult], numWorkers*operationsPerWorker)

    // Execute concurrent operations against real database
    for workerID := 0; workerID < numWorkers; workerID++ {
        wg.Add(1)
        go func(id int) {
            defer wg.Done()

            for opNum := 0; opNum < operationsPerWorker; opNum++ {
                result, err := suite.[operation_method](context.Background(), [params])
                if err != nil {
                    errors <- fmt.Errorf("worker %d operation %d: %w", id, opNum, err)
                } else {
                    results <- result
                }
            }
        }(workerID)
    }

    wg.Wait()
    close(errors)
    close(results)

    // Validate no errors and consistent results
    var errorList []error
    for err := range errors {
        errorList = append(errorList, err)
    }
    suite.Empty(errorList, "Should have no errors in concurrent execution")

    // Validate database consistency after concurrent operations
    suite.ValidateDatabaseConsistency()
}"""

# The prose placeholders of sections 1 and 6, shown where a finding has no text of its own.
PRIORITY_PLACEHOLDER = "[CRITICAL/HIGH/MEDIUM/LOW]"
EFFORT_PLACEHOLDER = "[X-Y days]"
OVERVIEW_FIELDS = (
    ("Problem Statement", "problem_statement", "[Specific technical issue]"),
    ("Root Cause", "root_cause", "[Technical root cause analysis]"),
    ("Security/Performance Impact", "impact", "[Business impact]"),
    ("Integration Points", "integration_points", "[How it connects to existing systems]"),
)
SUCCESS_FIELDS = (
    ("Functional Requirements", "success_functional", "[Specific technical requirements met]"),
    ("Performance Requirements", "success_performance", "[Specific metrics achieved]"),
    ("Security Requirements", "success_security", "[Security objectives met]"),
    ("Integration Requirements", "success_integration", "[Integration points working]"),
)
HEADER_FIELDS = ("Finding ID", "Priority", "Phase", "Estimated Effort", "Dependencies")

# Each section's heading in a document; the template itself heads only sections 1, 5 and 6.
SECTION_HEADINGS = {
    1: "FINDING OVERVIEW",
    2: "POSTGRESQL MIGRATION & DATABASE PATTERNS",
    3: "COPY-PASTE READY GO IMPLEMENTATION",
    4: "REAL DATABASE TESTING REQUIREMENTS",
    5: "CI/CD COMPLIANCE CHECKLIST",
    6: "SUCCESS CRITERIA & ROLLBACK",
}
# How QA names them in its reports, without colons so `document:section:line:` stays parseable.
SECTION_NAMES = {
    1: "Section 1 Header & Overview",
    2: "Section 2 PostgreSQL Migration",
    3: "Section 3 Go Implementation",
    4: "Section 4 Real Database Testing",
    5: "Section 5 CI/CD Checklist",
    6: "Section 6 Success Criteria & Rollback",
}
CHECKLIST_HEADING = "CI/CD VALIDATION REQUIREMENTS"
SUCCESS_HEADING = "SUCCESS CRITERIA"
ROLLBACK_HEADING = "ROLLBACK PROCEDURES"
ENVIRONMENT_HEADING = "Environment Setup Requirements"
SUITE_HEADING = "Integration Test Suite"
PATTERN_HEADING = "Test Execution Patterns"
TITLE_SUFFIX = " - TACTICAL IMPLEMENTATION PLAN"
MIGRATIONS_DIR = "backend/database/migrations"
FOUNDATION_NOTE = "-- Based on successful BF-001/BL-002 implementations"
ROLLBACK_NOTE = "-- Database rollback migration"

_PLACEHOLDER = re.compile(r"\[[^\[\]\n]+\]")
# Every bracketed token of the template: QA reports these wherever they are left, code included,
# where a generic `[word]` pattern would also match Go's `map[string]` or `results[i]`.
TEMPLATE_PLACEHOLDERS = frozenset(
    match.group()
    for text in (
        MIGRATION_SKELETON,
        GO_SKELETON,
        TEST_SUITE_SKELETON,
        CONCURRENT_WORKER_PATTERN,
        PRIORITY_PLACEHOLDER,
        EFFORT_PLACEHOLDER,
        "[BF/BL/SI-XXX] [FINDING-ID] [TITLE] [description] [dependency findings]",
        "[List of completed findings required]",
        "[2A Foundation / 2B Security / 2C Performance / 2D Architecture]",
        *(placeholder for _, _, placeholder in OVERVIEW_FIELDS + SUCCESS_FIELDS),
    )
    for match in _PLACEHOLDER.finditer(text)
)


def fill(text: str, values: dict[str, str]) -> str:
    """Replace each `[placeholder]` the values name; leave every other one as it is."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(), match.group()), text)
