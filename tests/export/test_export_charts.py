"""The export's figures: the plan's burndown in the README, each phase's in its first document."""

import re
from datetime import datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db.models import QuerySet
from django.utils import timezone

from findings.burndown import TICKED
from findings.export.documents import document_markdown
from findings.export.index import readme_markdown
from findings.export.snapshot import snapshot_load
from findings.export.tree import tree_files
from findings.models import AuditEvent, ChecklistItem, Finding
from tests.phase_work import item_of, tick

pytestmark = pytest.mark.django_db

FIGURES_HEADING = re.compile(r"^## Phase (\S+) figures$", re.M)


def mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)\n```", text, re.S)


def first_documents() -> dict[str, str]:
    """Each phase's code and the text of its first document, for the phases with documents."""
    snapshot = snapshot_load()
    return {
        entry.phase.code: document_markdown(entry.documents[0], snapshot)
        for entry in snapshot.phases
        if entry.documents
    }


def ticked_on(code: str, day: datetime, *, sequence: int) -> None:
    """Tick a finding's first item with its event dated `day`, outside the hash chain."""
    finding = Finding.objects.get(code=code)
    ChecklistItem.objects.filter(finding=finding, position=1).update(checked=True, checked_at=day)
    QuerySet(model=AuditEvent).bulk_create(
        [
            AuditEvent(
                sequence=sequence,
                previous_hash="",
                hash="",
                created_at=day,
                action=TICKED,
                object_type="test",
                object_id=str(finding.pk),
                object_repr=finding.code,
                finding=finding,
                permission="test",
            )
        ]
    )


def test_it_draws_the_plans_burndown_in_the_readme_after_its_dependency_graph(catalogue, reviewer):
    tick(item_of("SI-001", 1), reviewer)
    today = f"{timezone.localdate():%Y-%m-%d}"
    yesterday = f"{timezone.localdate() - timedelta(days=1):%Y-%m-%d}"

    text = readme_markdown(snapshot_load())

    graph, chart = mermaid_blocks(text)
    assert graph.startswith("graph TD\n")
    assert text.index("## Dependency graph") < text.index("## Burndown")
    assert chart.split("\n") == [
        "xychart-beta",
        '    title "Progress of the plan"',
        f'    x-axis ["{yesterday}", "{today}"]',
        '    y-axis "Items ticked, findings done" 0 --> 299',
        "    line [0, 1]",
        "    line [0, 0]",
    ]
    assert "items ticked went from 0 to 1 of 299 and findings done from 0 to 0 of 23" in text


def test_it_says_so_when_nothing_is_recorded_yet(catalogue):
    text = readme_markdown(snapshot_load())

    assert "**The plan's burndown**: No tick or status change is recorded yet.\n" in text
    assert "xychart-beta" not in text


def test_it_ends_the_burndown_at_the_last_recorded_day_not_today(catalogue):
    last = timezone.now() - timedelta(days=9)
    ticked_on("SI-001", last - timedelta(days=1), sequence=-1)
    ticked_on("SI-002", last, sequence=-2)

    chart = mermaid_blocks(first_documents()["2A"])[0]

    days = re.search(r"x-axis \[(.*)\]", chart).group(1)
    assert days.endswith(f'"{timezone.localtime(last):%Y-%m-%d}"')
    assert "    line [0, 1, 2]" in chart


def test_it_charts_a_long_history_on_at_most_twelve_days_and_says_so(catalogue):
    start = timezone.now() - timedelta(days=30)
    for n, code in enumerate(["SI-001", "SI-002", "BF-002"] * 5):
        ticked_on(code, start + timedelta(days=n), sequence=-(n + 1))

    text = readme_markdown(snapshot_load())

    chart = mermaid_blocks(text)[-1]
    assert len(re.search(r"x-axis \[(.*)\]", chart).group(1).split(", ")) == 12
    assert "at the end of each day (12 of its 16 days)." in text


def test_each_phase_has_its_figures_once_in_its_first_document(catalogue, reviewer):
    tick(item_of("SI-001", 1), reviewer)
    snapshot = snapshot_load()

    for phase_entry in snapshot.phases:
        first, *others = phase_entry.documents
        text = document_markdown(first, snapshot)
        assert FIGURES_HEADING.findall(text) == [phase_entry.phase.code]
        burndown, graph = mermaid_blocks(FIGURES_HEADING.split(text)[-1])
        title = f'    title "Progress of phase {phase_entry.phase.code}"'
        assert burndown.split("\n")[:2] == ["xychart-beta", title]
        assert graph.startswith("graph TD\n")
        for entry in others:
            assert FIGURES_HEADING.findall(document_markdown(entry, snapshot)) == []


def test_a_phase_graph_holds_its_findings_their_neighbours_and_the_gates_before_it(catalogue):
    graph = mermaid_blocks(first_documents()["2B"])[0].split("\n")

    assert '    gate_2a{"Phase 2A signoff (mandatory): not signed off"}' in graph
    assert "    subgraph phase_2b" in "\n".join(graph)
    # Only 2B's findings and those they touch: no finding of 2A appears unless linked to 2B.
    in_2b = set(Finding.objects.filter(phase__code="2B").values_list("code", flat=True))
    shown = set(re.findall(r'^ {8}\w+\["([^ "]+) \(', "\n".join(graph), re.M))
    assert in_2b <= shown
    linked = {code for line in graph if " --> " in line for code in line.strip().split(" --> ")}
    assert {code.replace("_", "-") for code in linked} >= shown - in_2b


def test_the_phase_graph_colours_each_finding_by_status(catalogue, system_context):
    Finding.objects.filter(code="SI-002").update(status="in_progress")

    graph = mermaid_blocks(first_documents()["2A"])[-1].split("\n")

    assert '        SI_002["SI-002 (in progress)"]' in graph
    assert "    classDef in_progress fill:#bfdbfe,stroke:#1d4ed8,color:#111827" in graph
    assert "    class SI_002 in_progress" in graph


def test_the_same_database_exports_the_same_bytes_on_another_day(catalogue, reviewer):
    tick(item_of("SI-001", 1), reviewer)
    before = dict(tree_files(snapshot_load()))

    later = timezone.now() + timedelta(days=30)
    with mock.patch("django.utils.timezone.now", return_value=later):
        after = dict(tree_files(snapshot_load()))

    assert after == before
    assert any(b"xychart-beta" in content for content in before.values())


def test_it_reads_back_a_document_with_figures_after_they_changed_in_the_tracker(
    catalogue, reviewer, tmp_path
):
    document = tmp_path / "phase_2a_foundation" / "SI-001_TACTICAL_PLAN.md"
    call_command("export_tactical_docs", "--out", str(tmp_path), stdout=StringIO())
    text = document.read_text(encoding="utf-8")
    assert "## Phase 2A figures" in text
    document.write_text(
        text.replace(
            "- **Root Cause**: [Technical root cause analysis]", "- **Root Cause**: Nested."
        ),
        encoding="utf-8",
    )
    tick(item_of("SI-001", 1), reviewer)

    call_command("import_tactical_docs", str(tmp_path), stdout=StringIO())
    call_command("export_tactical_docs", "--out", str(tmp_path), stdout=StringIO())

    assert Finding.objects.get(code="SI-001").root_cause == "Nested."
    assert "xychart-beta" in document.read_text(encoding="utf-8")
