"""Document QA finds what keeps a document from being copy-paste ready, and says where."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from findings.export.documents import document_markdown
from findings.export.qa import file_problems, go_errors, sql_errors, tree_index
from findings.export.reports import document_report, tree_reports
from findings.export.snapshot import snapshot_load
from findings.models import Finding, Phase, TacticalDocument
from findings.services.findings import finding_create, finding_update

TREE = tree_index(["README.md", "phase_2a_foundation/SI-001_TACTICAL_PLAN.md"])


def report_of(file_name: str):
    snapshot = snapshot_load()
    entry = next(e for e in snapshot.documents if e.document.file_name == file_name)
    return document_report(snapshot, entry)


def line_of(text: str, content: str) -> int:
    return text.split("\n").index(content) + 1


def edit(code: str, context, **fields) -> Finding:
    finding = Finding.objects.get(code=code)
    for name, value in fields.items():
        setattr(finding, name, value)
    return finding_update(finding=finding, context=context)


def problems_in(text: str, is_document: bool = False) -> list[tuple[int, str, str]]:
    problems = file_problems("doc.md", text, TREE, is_document=is_document)
    return [(problem.line, problem.check, problem.message) for problem in problems]


# --- A test finding's broken code, reported with its document, section and line ---


def test_it_reports_broken_sql_and_go_in_a_finding_with_their_location(catalogue, system_context):
    edit(
        "SI-001",
        system_context,
        migration_sql="SELECT 1;\nSELEC 2;",
        go_implementation="package store\n\nfunc Broken( {\n\treturn\n}",
    )

    report = report_of("SI-001_TACTICAL_PLAN.md")

    sql = [str(problem) for problem in report.problems if problem.check == "sql"]
    go = [str(problem) for problem in report.problems if problem.check == "go"]
    path = "phase_2a_foundation/SI-001_TACTICAL_PLAN.md"
    assert sql[0] == (
        f"{path}:Section 2 PostgreSQL Migration:{line_of(report.text, 'SELEC 2;')}: "
        'SQL does not parse: syntax error at or near "SELEC"'
    )
    assert go[0] == (
        f"{path}:Section 3 Go Implementation:{line_of(report.text, 'func Broken( {')}: "
        "Go does not parse: missing ')'"
    )


def test_it_names_the_part_of_a_grouped_document(catalogue, system_context):
    finding_create(
        context=system_context,
        code="BL-015",
        title="A test finding",
        phase=Phase.objects.get(code="2D"),
        document=TacticalDocument.objects.get(file_name="REMAINING_FINDINGS_TACTICAL_PLAN.md"),
        rollback_sql="DROP TABLE;",
    )

    report = report_of("REMAINING_FINDINGS_TACTICAL_PLAN.md")

    line = line_of(report.text, "DROP TABLE;")
    (problem,) = [p for p in report.problems if p.line == line and p.check == "sql"]
    assert problem.section == "BL-015 Section 6 Success Criteria & Rollback"
    assert problem.message == 'SQL does not parse: syntax error at or near ";"'


# --- Parsers ---


@pytest.mark.db_independent
def test_sql_errors_give_the_line_even_after_non_ascii_text():
    assert sql_errors("-- é é é\nSELECT 'ü';\n-- ü\nSELEC 2;") == [
        (3, 'SQL does not parse: syntax error at or near "SELEC"')
    ]


@pytest.mark.db_independent
def test_a_function_without_a_body_or_language_would_not_apply():
    assert sql_errors("CREATE FUNCTION f() RETURNS TABLE(ok BOOLEAN);") == [
        (0, "CREATE FUNCTION f has no body (AS ... or BEGIN ATOMIC), so it would not apply")
    ]
    assert sql_errors("SELECT 1;\n-- next\nCREATE FUNCTION f() RETURNS int AS $$ x $$;") == [
        (2, "CREATE FUNCTION f has no LANGUAGE, so it would not apply")
    ]
    assert sql_errors("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;") == []


@pytest.mark.db_independent
def test_a_block_of_comments_alone_is_not_a_migration():
    assert sql_errors("-- Database rollback migration\n") == [
        (0, "the SQL block has no statement yet")
    ]


@pytest.mark.db_independent
def test_go_snippets_parse_as_a_file_a_file_body_or_a_function_body():
    assert go_errors("package store\n\nfunc F() {}") == []
    assert go_errors("func ok() error {\n\treturn nil\n}") == []
    assert go_errors("x := 1\n_ = x") == []
    assert go_errors("var m map[string]int\nvar first = results[0]") == []


@pytest.mark.db_independent
def test_go_error_lines_count_from_the_snippets_own_first_line():
    errors = go_errors("type T struct {\n\tA int\n}\n\nfunc (t *T) Bad( {\n}")

    # tree-sitter words its errors as it recovers; the line is what matters.
    assert [line for line, _ in errors] == [4]
    assert errors[0][1].startswith("Go does not parse")


# --- Placeholders, links, fences ---


@pytest.mark.db_independent
def test_it_reports_template_placeholders_in_code_but_not_go_indexing():
    text = "```go\nvar m map[string]int\ntype [EntityName]Manager struct{}\nx := results[i]\n```\n"

    problems = problems_in(text)

    assert [(line, check) for line, check, _ in problems] == [(3, "go"), (3, "placeholder")]
    assert problems[1][2] == "unfilled template placeholder [EntityName]"


@pytest.mark.db_independent
def test_it_reports_bracketed_placeholders_in_prose_only():
    text = (
        "- [ ] An unticked item\n"
        "- [x] A ticked item\n"
        "See [the index](README.md) and `map[string]` here.\n"
        "- **Problem Statement**: [Specific technical issue]\n"
    )

    assert problems_in(text) == [
        (4, "placeholder", "unfilled template placeholder [Specific technical issue]")
    ]


@pytest.mark.db_independent
def test_it_checks_that_relative_links_resolve_inside_the_tree():
    text = (
        "[ok](phase_2a_foundation/SI-001_TACTICAL_PLAN.md) [folder](phase_2a_foundation/)\n"
        "[web](https://example.com/x.md) [anchor](#phases)\n"
        "[gone](phase_2a_foundation/SI-009_TACTICAL_PLAN.md)\n"
        "[out](../secrets.md)\n"
    )

    assert problems_in(text) == [
        (3, "link", "link 'phase_2a_foundation/SI-009_TACTICAL_PLAN.md' does not resolve in the "
                    "exported tree"),
        (4, "link", "link '../secrets.md' points outside the exported tree"),
    ]  # fmt: skip


@pytest.mark.db_independent
def test_it_reports_a_fence_left_open():
    assert problems_in("# Title\n\n```sql\nSELECT 1;\n") == [
        (3, "fence", "the ``` fence opened here is never closed")
    ]


# --- Structure ---


def test_it_reports_a_missing_section_and_an_empty_field(catalogue):
    text = report_of("SI-001_TACTICAL_PLAN.md").text
    lines = text.split("\n")
    go_heading = lines.index("## COPY-PASTE READY GO IMPLEMENTATION")
    damaged = lines[:go_heading] + lines[go_heading + 4 + lines[go_heading + 3 :].index("```") :]
    damaged[line_of(text, "- **Root Cause**: [Technical root cause analysis]") - 1] = (
        "- **Root Cause**:"
    )

    problems = [p for p in problems_in("\n".join(damaged), is_document=True) if p[1] == "section"]

    assert problems == [
        (1, "section", "the section 'COPY-PASTE READY GO IMPLEMENTATION' is missing"),
        (13, "section", "the field 'Root Cause' is empty"),
    ]


@pytest.mark.db_independent
def test_a_file_without_a_finding_part_is_reported():
    assert problems_in("# Notes\n\nNothing here.\n", is_document=True) == [
        (1, "section", "no finding part: expected a 'CODE: TITLE - TACTICAL IMPLEMENTATION "
                       "PLAN' heading followed by its **Finding ID** line"),
    ]  # fmt: skip


# --- The seeded catalogue, and --check ---


def test_the_seeded_catalogue_fails_where_the_seed_leaves_it_unfinished(catalogue):
    reports = tree_reports(snapshot_load())
    documents = reports[1:]

    assert reports[0].path == "README.md" and reports[0].passed
    assert len(documents) == 19
    assert all("placeholder" in {p.check for p in r.problems} for r in documents)
    assert all("go" in {p.check for p in r.problems} for r in documents)
    assert all("sql" in {p.check for p in r.problems} for r in documents)
    assert not [p for r in reports for p in r.problems if p.check in ("fence", "link", "section")]


def test_check_lists_problems_by_finding_and_field_and_exits_non_zero(
    catalogue, tmp_path, monkeypatch, settings
):
    # The migration sandbox's verdicts are tests/export/test_export_sandbox.py's to pin.
    settings.QA_SANDBOX_DATABASE_URL = ""
    monkeypatch.chdir(tmp_path)
    stdout = StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("export_tactical_docs", "--check", stdout=stdout)

    assert failed.value.returncode == 1
    assert str(failed.value) == (
        "QA failed: 303 problems by finding and field (SQL parses: 10, Sections written: 293) "
        "in 23 of 23 findings."
    )
    lines = stdout.getvalue().splitlines()
    assert lines[:3] == [
        "phase_2a_foundation/SI-001_TACTICAL_PLAN.md",
        "  SI-001 Estimated effort: not written",
        "  SI-001 Problem statement: not written",
    ]
    assert "  SI-001 Go implementation: not written" in lines
    assert not [line for line in lines if "[EntityName]" in line], "the skeleton is not restated"
    assert list(tmp_path.iterdir()) == [], "--check writes nothing"


VALID = {
    "title": "Enhanced Transaction Management",
    "priority": "CRITICAL",
    "effort_min_days": 2,
    "effort_max_days": 3,
    "problem_statement": "Batches commit half-way.",
    "root_cause": "No transaction spans the batch.",
    "impact": "Campaigns end in inconsistent states.",
    "integration_points": "The campaign service.",
    "migration_sql": (
        "BEGIN;\nCREATE FUNCTION atomic_campaign_operation(p_id UUID) RETURNS BOOLEAN\n"
        "LANGUAGE plpgsql AS $$ BEGIN RETURN TRUE; END $$;\nCOMMIT;"
    ),
    "go_implementation": "package store\n\ntype CampaignManager struct{}\n\nfunc Run() {}\n",
    "database_tests": (
        'package store\n\nimport "testing"\n\nfunc TestSI001(t *testing.T) {\n'
        "\tfor w := 0; w < 50; w++ {\n\t\tgo func() {}()\n\t}\n}\n"
    ),
    "success_functional": "Batches commit or roll back whole.",
    "success_performance": "p95 under 50 ms.",
    "success_security": "Every change is audited.",
    "success_integration": "The campaign service uses it.",
    "rollback_sql": "DROP FUNCTION atomic_campaign_operation(UUID);",
}


def test_check_passes_and_exits_zero_when_every_document_is_ready(db, system_context):
    phase = Phase.objects.create(
        code="2A", name="Foundation", priority_band="CRITICAL",
        folder_name="phase_2a_foundation", order=1, requires_signoff=True,
    )  # fmt: skip
    document = TacticalDocument.objects.create(
        file_name="SI-001_TACTICAL_PLAN.md", phase=phase, sequence=4, title=VALID["title"]
    )
    finding_create(context=system_context, code="SI-001", phase=phase, document=document, **VALID)
    stdout = StringIO()

    call_command("export_tactical_docs", "--check", stdout=stdout)

    assert stdout.getvalue() == (
        "QA passed: all 2 files and the written fields of 1 finding pass every check.\n"
    )
    snapshot = snapshot_load()
    assert "[" not in document_markdown(snapshot.documents[0], snapshot).split("## FINDING")[0]
