"""A reviewer writes SI-001's document on its page until the document passes QA."""

from playwright.sync_api import Page, expect

from findings.export.documents import document_markdown
from findings.export.reports import SandboxRun, document_report, report_groups
from findings.export.snapshot import snapshot_load
from tests.export.written_catalogue import written_sections

WRITTEN = written_sections("SI-001")
# What the reviewer types, in the page's order; the seed gives SI-001 its title.
SECTIONS = [
    "problem_statement",
    "root_cause",
    "impact",
    "integration_points",
    "migration_sql",
    "go_implementation",
    "database_tests",
    "rollback_sql",
    "success_functional",
    "success_performance",
    "success_security",
    "success_integration",
]


def si_001_problems() -> list[str]:
    """SI-001's document QA, by finding and field, without the migration sandbox."""
    snapshot = snapshot_load()
    entry = next(e for e in snapshot.documents if e.document.file_name == "SI-001_TACTICAL_PLAN.md")
    groups = report_groups(document_report(snapshot, entry), SandboxRun("switched off here"))
    return [str(group) for group in groups]


def si_001_exported() -> str:
    snapshot = snapshot_load()
    entry = next(e for e in snapshot.documents if e.document.file_name == "SI-001_TACTICAL_PLAN.md")
    return document_markdown(entry, snapshot)


def write_section(page: Page, field: str, text: str) -> None:
    section = page.locator(f"#content-section-{field}")
    section.get_by_role("link", name="Edit").click()
    editor = page.locator(f"#content-editor-{field}")
    editor.locator("textarea").fill(text)
    editor.get_by_role("button", name="Save").click()
    expect(page.locator(f"#content-section-{field}")).to_contain_text("Saved.")


def test_it_writes_si_001_on_its_page_until_its_document_passes_qa(
    logged_in_page, live_server, reviewer, catalogue
):
    assert si_001_problems(), "SI-001's document passes QA before anything is written"
    page = logged_in_page("reviewer")
    page.goto(f"{live_server.url}/findings/SI-001/")
    page.evaluate("window.__marker = 1")

    # The preview and the QA follow the typing; Tab indents the code.
    page.get_by_role("link", name="Edit go implementation").click()
    code = page.get_by_role("textbox", name="Go implementation")
    preview = page.locator("#content-preview-go_implementation")
    expect(preview).to_contain_text("not written")
    code.press_sequentially("func Apply() {")
    code.press("Enter")
    code.press("Tab")
    code.press_sequentially("retur")
    expect(preview).to_contain_text("Line 2: Go does not parse")
    code.press_sequentially("n\n}")
    expect(preview).to_contain_text("QA passes.")
    expect(preview.locator(".highlight")).to_contain_text("func Apply()")
    assert code.input_value() == "func Apply() {\n\treturn\n}"
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#content-section-go_implementation")).to_contain_text("Not written yet.")

    for field in SECTIONS:
        write_section(page, field, WRITTEN[field])
    assert page.evaluate("window.__marker") == 1, "writing the sections reloaded the page"

    # The header's facts are edited on the editor's own page, which comes back to the finding.
    page.get_by_role("link", name="Edit estimated effort").click()
    page.get_by_role("textbox", name="Estimated effort").fill("2-4")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/findings/SI-001/#content-section-effort")
    expect(page.get_by_text("2–4 days")).to_be_visible()

    assert si_001_problems() == []
    exported = si_001_exported()
    for field in SECTIONS:
        assert WRITTEN[field] in exported, field
