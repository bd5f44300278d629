"""A document is the seed's template, sections 1–6, filled from the finding it covers."""

import re
from datetime import UTC, datetime

import pytest

from findings.export.documents import document_markdown
from findings.export.markdown_scan import scan
from findings.export.reports import document_report
from findings.export.snapshot import snapshot_load
from findings.models import ChecklistItem, Finding, Phase, Signoff
from findings.seed import POSTGRESQL_PATTERNS as SEED_PATTERNS
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_set
from findings.services.dependencies import dependency_add
from findings.services.findings import finding_update

# Phases with their signoff, active signoffs, documents, findings, dependencies, checklist items,
# completed findings; for the figures, the plan's graph (three), the phase cards (two) and the
# burndowns (one).
SNAPSHOT_QUERIES = 13


def rendered(file_name: str) -> str:
    snapshot = snapshot_load()
    entry = next(e for e in snapshot.documents if e.document.file_name == file_name)
    return document_markdown(entry, snapshot)


def report_of(file_name: str):
    snapshot = snapshot_load()
    entry = next(e for e in snapshot.documents if e.document.file_name == file_name)
    return document_report(snapshot, entry)


def edit(code: str, context, **fields) -> Finding:
    finding = Finding.objects.get(code=code)
    for name, value in fields.items():
        setattr(finding, name, value)
    return finding_update(finding=finding, context=context)


def section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of its level or above (fences skipped)."""
    headings = scan(text).headings
    start = next(h for h in headings if h.text == heading)
    end = next((h.line for h in headings if h.line > start.line and h.level <= start.level), None)
    lines = text.split("\n")[start.line : end - 1 if end else None]
    return "\n".join(lines).strip("\n")


def test_it_fills_the_template_placeholders_from_the_finding(catalogue):
    text = rendered("SI-001_TACTICAL_PLAN.md")

    assert text.startswith(
        "# SI-001: Enhanced Transaction Management Anti-patterns - TACTICAL IMPLEMENTATION PLAN\n"
    )
    assert "type SI001TestSuite struct {" in text
    assert "func TestSI001Integration(t *testing.T) {" in text
    assert "func (suite *SI001TestSuite) TestConcurrent[Operation]() {" in text
    assert "// File: backend/internal/[service/store]/si_001_integration_test.go" in text
    assert (
        "-- File: backend/database/migrations/"
        "001_si_001_enhanced_transaction_management_anti_patterns.sql"
    ) in text
    assert "-- File: backend/database/migrations/001_rollback_si_001.sql" in text
    for filled in ("[FINDING-ID]", "[TITLE]", "[finding_id]", "[FindingID]", "[description]"):
        assert filled not in text


def test_it_keeps_visible_the_placeholders_the_database_cannot_fill(catalogue):
    text = rendered("SI-002_TACTICAL_PLAN.md")

    for placeholder in ("[EntityName]", "[OperationName]", "[package_name]", "[ServiceType]"):
        assert placeholder in text


def test_it_writes_the_header_fields_in_the_templates_order(catalogue):
    text = rendered("SI-001_TACTICAL_PLAN.md")

    fields = re.findall(r"^\*\*([A-Za-z ]+)\*\*: ", text, re.M)
    assert fields == [
        "Finding ID",
        "Priority",
        "Phase",
        "Estimated Effort",
        "Dependencies",
        "Status",
    ]
    assert "**Phase**: 2A Foundation  \n" in text
    assert "**Dependencies**: BF-001 (completed before this plan), BL-002 (completed" in text


def test_it_shows_the_seeds_band_until_a_priority_is_set(catalogue, system_context):
    assert "**Priority**: CRITICAL  \n" in rendered("SI-001_TACTICAL_PLAN.md")
    assert "**Priority**: HIGH/MEDIUM (the phase's band until a priority is set)  \n" in rendered(
        "BF-006_TACTICAL_PLAN.md"
    )
    assert "**Priority**: MEDIUM/LOW (the phase's band until a priority is set)  \n" in rendered(
        "SI-004_TACTICAL_PLAN.md"
    )
    assert "unconfirmed" not in rendered("REMAINING_FINDINGS_TACTICAL_PLAN.md")

    edit("BF-006", system_context, priority="MEDIUM", priority_unconfirmed=False)

    assert "**Priority**: MEDIUM  \n" in rendered("BF-006_TACTICAL_PLAN.md")


def test_only_documents_behind_the_2a_gate_state_it_while_it_is_unsigned(catalogue):
    gate = "**Gate**: Phase 2A Foundation signoff (mandatory) — not signed off  \n"

    assert "**Gate**" not in rendered("SI-001_TACTICAL_PLAN.md")
    assert gate in rendered("BL-006_TACTICAL_PLAN.md")
    assert gate in rendered("BF-006_TACTICAL_PLAN.md")
    # Once in the grouped document's header, once in each finding's part.
    assert rendered("REMAINING_FINDINGS_TACTICAL_PLAN.md").count(gate.rstrip()) == 1 + 5


def test_documents_behind_the_2a_gate_say_who_signed_it_off_and_when(catalogue, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"),
        signed_by=lead,
        signed_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        fingerprint="0" * 64,
    )

    text = rendered("SI-004_TACTICAL_PLAN.md")

    assert (
        "**Phase**: 2D Architecture  \n"
        "**Gate**: Phase 2A Foundation signoff (mandatory) — signed off by lead on "
        "2026-12-04 09:30 UTC  \n"
        "**Estimated Effort**: "
    ) in text
    assert "not signed off" not in text
    assert rendered("SI-004_TACTICAL_PLAN.md") == text


def test_a_revoked_2a_signoff_shows_the_gate_unsigned_again(catalogue, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"),
        signed_by=lead,
        signed_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        fingerprint="0" * 64,
        revoked_by=lead,
        revoked_at=datetime(2026, 12, 5, tzinfo=UTC),
        revoke_reason="Content changed.",
    )

    text = rendered("BL-005_TACTICAL_PLAN.md")

    assert "**Gate**: Phase 2A Foundation signoff (mandatory) — not signed off  \n" in text
    assert "signed off by" not in text


def test_the_gate_states_cost_no_query_beyond_the_snapshots(
    catalogue, lead, django_assert_num_queries
):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"),
        signed_by=lead,
        signed_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        fingerprint="0" * 64,
    )

    with django_assert_num_queries(SNAPSHOT_QUERIES):
        snapshot = snapshot_load()
        texts = [document_markdown(entry, snapshot) for entry in snapshot.documents]

    assert sum("signed off by lead" in text for text in texts) == 16


def test_it_shows_the_effort_as_a_range_of_days_once_estimated(catalogue, system_context):
    assert "**Estimated Effort**: [X-Y days] (not estimated yet)" in rendered(
        "SI-001_TACTICAL_PLAN.md"
    )

    edit("SI-001", system_context, effort_min_days=3, effort_max_days=5)

    assert "**Estimated Effort**: 3-5 days  \n" in rendered("SI-001_TACTICAL_PLAN.md")


def test_it_links_a_dependency_to_its_own_document(catalogue, system_context):
    dependency_add(
        finding=Finding.objects.get(code="BL-006"),
        depends_on=Finding.objects.get(code="SI-001"),
        context=system_context,
    )

    report = report_of("BL-006_TACTICAL_PLAN.md")

    assert "[SI-001](../phase_2a_foundation/SI-001_TACTICAL_PLAN.md) (planned)" in report.text
    assert not [problem for problem in report.problems if problem.check == "link"]


def test_it_numbers_the_migrations_in_plan_order_without_repeats(catalogue):
    snapshot = snapshot_load()
    numbers = {}
    for entry in snapshot.documents:
        text = document_markdown(entry, snapshot)
        for number, code in re.findall(r"migrations/(\d{3})_(\w\w_\d{3})_", text):
            numbers[code] = int(number)

    assert sorted(numbers.values()) == list(range(1, 24))
    assert numbers["si_001"] == 1
    assert [numbers[f"bl_0{n}"] for n in range(10, 15)] == [19, 20, 21, 22, 23]


def test_it_puts_the_seeds_test_environment_and_worker_pattern_in_section_4(catalogue):
    text = rendered("SI-001_TACTICAL_PLAN.md")
    tests = section(text, "REAL DATABASE TESTING REQUIREMENTS")

    order = [
        'export TEST_POSTGRES_DSN="postgresql://username:password@localhost/domainflow_production"',
        "go test ./... -race -tags=integration -timeout=30s",
        "type SI001TestSuite struct {",
        "// Concurrent worker testing pattern",
        "const numWorkers = 50",
    ]
    positions = [tests.find(snippet) for snippet in order]
    assert -1 not in positions
    assert positions == sorted(positions)


def test_it_groups_the_checklist_under_the_seeds_headings(catalogue):
    checklist = section(rendered("SI-001_TACTICAL_PLAN.md"), "CI/CD COMPLIANCE CHECKLIST")

    headings = re.findall(r"^#+ (.*)$", checklist, re.M)
    assert headings == [
        "CI/CD VALIDATION REQUIREMENTS",
        "Mandatory Checks",
        "Database Validation",
        "Integration Validation",
    ]
    assert len(re.findall(r"^- \[ \] ", checklist, re.M)) == 13
    assert "- [ ] Integration with BF-001, BL-002 verified" in checklist


def test_ticking_an_item_changes_exactly_that_line(catalogue, reviewer):
    # SI-002's document, not SI-001's: the phase's first document also draws its burndown.
    before = rendered("SI-002_TACTICAL_PLAN.md").split("\n")
    item = ChecklistItem.objects.get(finding__code="SI-002", text__startswith="Real database")

    ticked = checklist_item_set(
        item_id=item.pk,
        checked=True,
        expected_version=item.version,
        context=ActionContext(actor=reviewer),
    )

    after = rendered("SI-002_TACTICAL_PLAN.md").split("\n")
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    when = ticked.checked_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert changed == [
        (
            "- [ ] Real database integration tests pass",
            f"- [x] Real database integration tests pass — ticked by reviewer on {when} UTC",
        )
    ]


def test_what_an_admin_wrote_replaces_the_skeleton_section_by_section(catalogue, system_context):
    go_code = "package store\n\nfunc Apply() error {\n\treturn nil\n}"
    edit(
        "SI-001",
        system_context,
        go_implementation=go_code,
        problem_statement="Batches commit half-way.\n\nA second paragraph.",
        rollback_sql="DROP FUNCTION execute_campaign_transaction_batch;",
    )

    text = rendered("SI-001_TACTICAL_PLAN.md")

    assert section(text, "COPY-PASTE READY GO IMPLEMENTATION") == f"```go\n{go_code}\n```"
    assert "[EntityName]Manager" not in text
    assert "type SI001TestSuite struct {" in text
    assert "- **Problem Statement**: Batches commit half-way.\n\n    A second paragraph.\n" in text
    assert (
        "-- File: backend/database/migrations/001_rollback_si_001.sql\n"
        "DROP FUNCTION execute_campaign_transaction_batch;\n```"
    ) in text


def test_written_tests_replace_the_suite_and_pattern_but_keep_the_environment(
    catalogue, system_context
):
    edit("SI-001", system_context, database_tests="package store\n\nfunc TestIt() {}")

    tests = section(rendered("SI-001_TACTICAL_PLAN.md"), "REAL DATABASE TESTING REQUIREMENTS")

    assert "TEST_POSTGRES_DSN" in tests
    assert "package store\n\nfunc TestIt() {}" in tests
    assert "SI001TestSuite" not in tests


def test_the_seeds_pattern_sits_inside_the_templates_migration_frame(catalogue):
    migration = section(
        rendered("BF-002_TACTICAL_PLAN.md"), "POSTGRESQL MIGRATION & DATABASE PATTERNS"
    )

    assert migration == (
        "```sql\n"
        "-- Based on successful BF-001/BL-002 implementations\n"
        "-- File: backend/database/migrations/003_bf_002_additional_concurrency_hazards.sql\n"
        "BEGIN;\n"
        "\n"
        "-- Enhanced atomic operations with FOR UPDATE SKIP LOCKED\n"
        "-- BF-002: Concurrency-Safe Service Operations\n"
        "CREATE OR REPLACE FUNCTION claim_next_service_operation(\n"
        "    p_service_type VARCHAR(50),\n"
        "    p_worker_id VARCHAR(100)\n"
        ") RETURNS TABLE(operation_id UUID, operation_data JSONB);\n"
        "\n"
        "-- Row-level locking patterns\n"
        "-- Event sourcing tables\n"
        "-- Performance monitoring functions\n"
        "\n"
        "COMMIT;\n"
        "```"
    )


# The seed's pattern library covers eleven findings, each with a document of its own.
@pytest.mark.parametrize("code", sorted(SEED_PATTERNS))
def test_every_document_with_a_seed_pattern_keeps_the_frame(catalogue, code):
    migration = section(
        rendered(f"{code}_TACTICAL_PLAN.md"), "POSTGRESQL MIGRATION & DATABASE PATTERNS"
    )
    lines = migration.split("\n")

    assert lines[1] == "-- Based on successful BF-001/BL-002 implementations"
    assert lines[2].startswith("-- File: backend/database/migrations/")
    assert lines[3:6] == ["BEGIN;", "", "-- Enhanced atomic operations with FOR UPDATE SKIP LOCKED"]
    assert "\n".join(lines[6:-7]) == SEED_PATTERNS[code]
    assert lines[-7:] == [
        "",
        "-- Row-level locking patterns",
        "-- Event sourcing tables",
        "-- Performance monitoring functions",
        "",
        "COMMIT;",
        "```",
    ]
    assert "atomic_[entity]_operation" not in migration


def test_a_written_migration_is_headed_by_its_file_path(catalogue, system_context):
    edit("BF-002", system_context, migration_sql="BEGIN;\nSELECT 1;\nCOMMIT;")

    migration = section(
        rendered("BF-002_TACTICAL_PLAN.md"), "POSTGRESQL MIGRATION & DATABASE PATTERNS"
    )

    assert migration == (
        "```sql\n"
        "-- File: backend/database/migrations/003_bf_002_additional_concurrency_hazards.sql\n"
        "BEGIN;\nSELECT 1;\nCOMMIT;\n```"
    )


def test_code_holding_a_fence_gets_a_longer_fence(catalogue, system_context):
    edit("SI-001", system_context, go_implementation="// ```go\npackage store")

    report = report_of("SI-001_TACTICAL_PLAN.md")

    assert "````go\n// ```go\npackage store\n````" in report.text
    assert not [problem for problem in report.problems if problem.check == "fence"]


def test_the_grouped_document_has_one_part_per_finding(catalogue):
    text = rendered("REMAINING_FINDINGS_TACTICAL_PLAN.md")

    assert text.startswith(
        "# REMAINING FINDINGS: BL-010 through BL-014 grouped - TACTICAL IMPLEMENTATION PLAN\n"
    )
    parts = re.findall(r"^## (BL-\d{3}): .* - TACTICAL IMPLEMENTATION PLAN$", text, re.M)
    assert parts == ["BL-010", "BL-011", "BL-012", "BL-013", "BL-014"]
    assert len(re.findall(r"^### FINDING OVERVIEW$", text, re.M)) == 5
    assert len(re.findall(r"^##### Mandatory Checks$", text, re.M)) == 5
    assert "type BL014TestSuite struct {" in text


@pytest.mark.parametrize(
    "file_name", ["SI-001_TACTICAL_PLAN.md", "REMAINING_FINDINGS_TACTICAL_PLAN.md"]
)
def test_every_template_section_is_present_and_filled(catalogue, file_name):
    report = report_of(file_name)

    assert [problem for problem in report.problems if problem.check == "section"] == []
