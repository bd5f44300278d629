"""QA of what authors write: sections not written, Go that declares nothing, tests without their
workers, PL/pgSQL bodies that do not parse, and --check counting by finding and field."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from findings.export.qa import field_problems, sql_errors
from findings.export.reports import document_report
from findings.export.snapshot import snapshot_load
from findings.models import Finding
from findings.seed import TITLE_PLACEHOLDER
from findings.services.findings import finding_update
from tests.export.written_catalogue import DATABASE_TESTS, catalogue_write, written_sections

NOT_WRITTEN = [(0, "written", "not written")]
NO_TEST = (
    0,
    "tests",
    "no test function: `func TestName(t *testing.T)` or a suite method "
    "`func (s *Suite) TestName()`",
)
NO_WORKERS = (
    0,
    "tests",
    "no concurrent workers: the seed's pattern starts at least 50 goroutines in a loop "
    "(`for w := 0; w < numWorkers; w++ { go ... }`); keep it or say why in a "
    "`// fewer workers because ...` comment",
)


def worker_test(loop: str, comment: str = "") -> str:
    return (
        'package store\n\nimport "testing"\n\nfunc TestWorkers(t *testing.T) {\n'
        f"{comment}\t{loop} {{\n\t\tgo func() {{}}()\n\t}}\n}}\n"
    )


# --- Not written ---


@pytest.mark.parametrize(
    "text",
    ["", "  \n\t ", "x", "X", "TODO", "// TODO: write the migration", "TBD", "tbd.", "...", "…",
     "placeholder", "Lorem ipsum dolor sit amet.", TITLE_PLACEHOLDER,
     "[Specific technical issue]"],
)  # fmt: skip
@pytest.mark.parametrize("field", ["title", "root_cause", "migration_sql", "go_implementation"])
def test_it_counts_empty_and_placeholder_like_sections_as_not_written(field, text):
    assert field_problems(field, text) == NOT_WRITTEN


@pytest.mark.parametrize(
    "text", ["Batches commit half-way.", "Todos pile up in the queue.", "N+1 queries"]
)
def test_it_counts_real_prose_as_written(text):
    assert field_problems("problem_statement", text) == []


# --- What the Go must declare ---


def test_it_names_a_go_implementation_without_a_function():
    code = "package store\n\ntype CampaignManager struct {\n\tdb *sql.DB\n}\n"

    assert field_problems("go_implementation", code) == [
        (0, "function", "no function declaration (`func Name(...)` or a method)")
    ]
    assert field_problems("go_implementation", code + "\nfunc (m *CampaignManager) Run() {}") == []


def test_it_names_database_tests_without_a_test_function_or_workers():
    code = "package store\n\nfunc helper(t *testing.T) {}\n\nfunc Testlower(t *testing.T) {}\n"

    assert field_problems("database_tests", code) == [NO_TEST, NO_WORKERS]


def test_it_accepts_the_seeds_suite_method_with_a_workers_constant():
    code = DATABASE_TESTS.format(name="SI001", entity="si_001", code="SI-001")

    assert field_problems("database_tests", code) == []


@pytest.mark.parametrize(
    "loop", ["for w := 0; w < 50; w++", "for w := 1; w <= 64; w++", "for range 100"]
)
def test_it_accepts_a_loop_of_at_least_fifty_workers(loop):
    assert field_problems("database_tests", worker_test(loop)) == []


def test_it_names_a_worker_loop_too_small_or_unknown():
    excuse = "or say why in a `// fewer workers because ...` comment"

    assert field_problems("database_tests", worker_test("for w := 0; w < 10; w++")) == [
        (6, "tests", f"10 concurrent workers, fewer than the seed's 50: start more {excuse}")
    ]
    assert field_problems("database_tests", worker_test("for w := 0; w < n; w++")) == [
        (6, "tests", "cannot tell how many workers `for w := 0; w < n; w++` starts: bound it by "
                     f"a number or a constant of this file of at least 50, {excuse}"),
    ]  # fmt: skip


def test_it_accepts_fewer_workers_with_a_reason():
    reason = "\t// Fewer workers because the lock is table-wide: two already contend.\n"
    bare = "\t// fewer workers because\n"

    assert field_problems("database_tests", worker_test("for w := 0; w < 2; w++", reason)) == []
    assert field_problems("database_tests", worker_test("for w := 0; w < 2; w++", bare)) != []


# --- PL/pgSQL bodies ---

PLPGSQL = """\
BEGIN;
CREATE FUNCTION atomic_campaign_operation(p_id UUID) RETURNS BOOLEAN AS $$
DECLARE
    v_version BIGINT;
BEGIN
    SELECT version INTO v_version FROM campaigns WHERE id = p_id FOR UPDATE;
    RETRUN TRUE;
END;
$$ LANGUAGE plpgsql;
COMMIT;"""


def test_it_parses_plpgsql_bodies_and_gives_the_line_in_the_field():
    message = (
        "PL/pgSQL body of atomic_campaign_operation does not parse: "
        'syntax error at or near "RETRUN"'
    )

    assert field_problems("migration_sql", PLPGSQL) == [(7, "sql", message)]
    assert field_problems("migration_sql", PLPGSQL.replace("RETRUN", "RETURN")) == []


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("BEGIN\n    v := a +;\n    RETURN 1;\nEND;", 3),
        # Without its END the body runs out of input at its closing quote.
        ("BEGIN\n    RETURN 1;\n", 5),
        ("BEGIN\n    UPDATE t SET x = WHERE y;\nEND;", 3),
    ],
)
def test_it_finds_the_line_of_errors_the_plpgsql_parser_gives_no_position_for(body, line):
    code = (
        f"SELECT 1;\nCREATE FUNCTION f(a int) RETURNS int LANGUAGE plpgsql AS $fn$\n{body}\n$fn$;"
    )

    ((found, message),) = sql_errors(code)

    assert found == line
    assert message.startswith("PL/pgSQL body of f does not parse: ")


def test_it_parses_do_blocks_and_leaves_other_languages_alone():
    assert sql_errors("DO $$\nBEGIN\n  PERFORM 1;\n  PERFRM 2;\nEND $$;") == [
        (3, 'PL/pgSQL body of the DO block does not parse: syntax error at or near "PERFRM"')
    ]
    assert sql_errors("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;") == []


def test_it_reports_a_plpgsql_error_at_its_line_in_the_document(catalogue, system_context):
    finding = Finding.objects.get(code="SI-001")
    finding.migration_sql = PLPGSQL
    finding_update(finding=finding, context=system_context)
    snapshot = snapshot_load()

    report = document_report(snapshot, snapshot.documents[0])

    (problem,) = [problem for problem in report.problems
                  if problem.section == "Section 2 PostgreSQL Migration"]  # fmt: skip
    assert report.text.split("\n")[problem.line - 1] == "    RETRUN TRUE;"
    assert problem.check == "sql"


# --- --check over the whole plan ---


def check(tmp_path, monkeypatch) -> tuple[str, str]:
    """(what --check printed, its headline)."""
    monkeypatch.chdir(tmp_path)
    stdout = StringIO()
    try:
        call_command("export_tactical_docs", "--check", stdout=stdout)
    except CommandError as failed:
        assert failed.returncode == 1
        return stdout.getvalue(), str(failed)
    return stdout.getvalue(), ""


def test_it_passes_a_plan_whose_every_section_is_written(
    catalogue, system_context, tmp_path, monkeypatch
):
    catalogue_write(context=system_context)

    printed, failure = check(tmp_path, monkeypatch)

    assert failure == ""
    assert (
        printed
        == "QA passed: all 20 files and the written fields of 23 findings pass every check.\n"
    )


def test_it_fails_the_same_plan_with_x_in_every_section(
    catalogue, system_context, tmp_path, monkeypatch
):
    catalogue_write(context=system_context, text="x")

    printed, failure = check(tmp_path, monkeypatch)

    assert failure == (
        "QA failed: 299 problems by finding and field (Sections written: 299) in 23 of 23 findings."
    )
    assert "  BL-014 Real-database tests: not written" in printed.splitlines()


def test_the_headline_counts_a_field_once_however_many_lines_fail(
    catalogue, system_context, tmp_path, monkeypatch
):
    catalogue_write(context=system_context)
    finding = Finding.objects.get(code="SI-001")
    # Unwritten, the section shows the template's skeleton: a dozen failing lines.
    finding.go_implementation = ""
    finding.database_tests = written_sections("SI-001")["database_tests"].replace("50", "5")
    finding_update(finding=finding, context=system_context)

    printed, failure = check(tmp_path, monkeypatch)

    assert failure == (
        "QA failed: 2 problems by finding and field (Sections written: 1, Tests declared with "
        "their workers: 1) in 1 of 23 findings."
    )
    assert printed.splitlines() == [
        "phase_2a_foundation/SI-001_TACTICAL_PLAN.md",
        "  SI-001 Go implementation: not written",
        "  SI-001 Real-database tests: line 24: 5 concurrent workers, fewer than the seed's 50: "
        "start more or say why in a `// fewer workers because ...` comment",
    ]
