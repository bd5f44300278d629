"""README.md: phases with their gates, documents in sequence, links that resolve, the graph."""

import re
from datetime import UTC, datetime
from io import StringIO

from django.conf import settings
from django.core.management import call_command

from findings.export.index import readme_markdown
from findings.export.snapshot import snapshot_load
from findings.models import ChecklistItem, Finding, Phase, Signoff
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_set


def readme() -> str:
    return readme_markdown(snapshot_load())


def phase_rows(text: str) -> list[str]:
    return re.findall(r"^\| \[(2[A-D] \w+)\]\(", text, re.M)


def mermaid_graph(text: str) -> str:
    return re.search(r"```mermaid\n(.*?)\n```", text, re.S).group(1)


def readme_section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n\n", 1)[1].split("\n## ", 1)[0].strip("\n")


def seed_text() -> str:
    seed = settings.BASE_DIR.parent / "shared" / "seed" / "TACTICAL_DOCUMENT_GENERATION_PLAN.md"
    return seed.read_text(encoding="utf-8")


def test_it_lists_the_phases_in_order_with_their_priority_bands(catalogue):
    text = readme()

    assert phase_rows(text) == ["2A Foundation", "2B Security", "2C Performance", "2D Architecture"]
    assert "| [2C Performance](phase_2c_performance/) | HIGH/MEDIUM | 6 | 0 of 6 |" in text
    assert "### Phase 2D: Architecture - MEDIUM/LOW" in text


def test_it_marks_the_phase_2a_signoff_as_required_until_it_is_signed(catalogue):
    text = readme()

    assert "**🚫 MANDATORY PHASE 2A SIGNOFF REQUIRED**" in text
    assert "| 🔒 Locked until phase 2A Foundation is signed off. |" in text


def test_it_shows_who_signed_phase_2a_off_and_when(catalogue, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"),
        signed_by=lead,
        signed_at=datetime(2025, 6, 30, 14, 5, tzinfo=UTC),
        fingerprint="0" * 64,
    )

    text = readme()

    assert "**✅ Phase 2A signed off by lead on 2025-06-30 14:05 UTC**" in text
    assert "MANDATORY PHASE 2A SIGNOFF REQUIRED" not in text
    assert "Locked until" not in text


def test_a_revoked_signoff_makes_the_signoff_required_again(catalogue, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"),
        signed_by=lead,
        signed_at=datetime(2025, 6, 30, 14, 5, tzinfo=UTC),
        fingerprint="0" * 64,
        revoked_by=lead,
        revoked_at=datetime(2025, 7, 1, tzinfo=UTC),
        revoke_reason="Content changed.",
    )

    assert "**🚫 MANDATORY PHASE 2A SIGNOFF REQUIRED**" in readme()


def test_it_lists_the_documents_in_generation_sequence(catalogue):
    rows = re.findall(r"^\| (\d+) \| \[([\w.-]+)\]\(([\w/.-]+)\)", readme(), re.M)

    assert [int(number) for number, _, _ in rows] == list(range(4, 23))
    assert rows[0] == (
        "4",
        "SI-001_TACTICAL_PLAN.md",
        "phase_2a_foundation/SI-001_TACTICAL_PLAN.md",
    )
    assert rows[-1][1] == "REMAINING_FINDINGS_TACTICAL_PLAN.md"


def test_it_shows_each_documents_status_and_checklist_progress(catalogue, reviewer):
    item = ChecklistItem.objects.filter(finding__code="SI-001").first()
    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=item.version,
        context=ActionContext(actor=reviewer),
    )  # fmt: skip

    text = readme()

    assert "| SI-001 | Planned | 1 of 13 |" in text
    assert "| BL-010, BL-011, BL-012, BL-013, BL-014 | Planned | 0 of 65 |" in text
    assert (
        "[2A Foundation](phase_2a_foundation/) | CRITICAL | 3 | 0 of 3 | 1 of 39 ticked |" in text
    )


def test_every_relative_link_resolves_in_the_written_tree(catalogue, tmp_path):
    call_command("export_tactical_docs", "--out", str(tmp_path), stdout=StringIO())

    links = re.findall(r"\]\(([^)]+)\)", (tmp_path / "README.md").read_text())

    assert len(links) == 4 + 19
    for link in links:
        assert (tmp_path / link).exists(), link


def test_it_draws_the_dependency_graph_in_a_fixed_order(catalogue):
    text = readme()
    graph = re.search(r"```mermaid\n(.*?)\n```", text, re.S).group(1)
    edges = re.findall(r"^    (\w+) --> (\w+)$", graph, re.M)

    assert graph.startswith("graph TD\n")
    assert edges[:4] == [
        ("BF_001", "SI_001"),
        ("BL_002", "SI_001"),
        ("BF_001", "SI_002"),
        ("BL_002", "SI_002"),
    ]
    assert len(edges) == 46
    assert '    subgraph completed["Completed before this plan"]' in graph
    assert readme() == text


def test_it_lists_the_findings_completed_before_the_plan(catalogue):
    completed = readme_section(readme(), "Completed before this plan")

    assert completed.split("\n") == [
        "- ✅ BF-001",
        "- ✅ BF-003",
        "- ✅ BF-004",
        "- ✅ BF-005",
        "- ✅ BL-002",
        "- ✅ BL-008",
        "- ✅ SI-003",
    ]


def test_it_shows_a_completed_findings_title_once_one_is_set(catalogue):
    Finding.objects.filter(code="BL-002").update(title="Optimistic <locking>")

    completed = readme_section(readme(), "Completed before this plan")

    assert "- ✅ BL-002: Optimistic &lt;locking&gt;\n" in completed
    assert "- ✅ BF-001\n" in completed


def test_it_states_the_seeds_setup_steps_1_to_3_as_the_seed_does(catalogue):
    seed = seed_text()
    start = seed.index("### **Phase 1: Infrastructure Setup**")
    seed_steps = re.findall(
        r"^([123]\. .+)$", seed[start : seed.index("### **Phase 2A", start)], re.M
    )

    setup = readme_section(readme(), "Phase 1: Infrastructure Setup")

    assert len(seed_steps) == 3
    assert re.findall(r"^\d+\. .+$", setup, re.M) == seed_steps
    assert readme().index("## Phase 1: Infrastructure Setup") < readme().index("## Documents")


def test_the_graph_walks_the_phases_in_order_through_the_2a_gate(catalogue):
    graph = mermaid_graph(readme())

    assert re.findall(r"^    (\w+) ==> (\w+)$", graph, re.M) == [
        ("phase_2a", "gate_2a"),
        ("gate_2a", "phase_2b"),
        ("phase_2b", "phase_2c"),
        ("phase_2c", "phase_2d"),
    ]
    assert '    gate_2a{"Phase 2A signoff (mandatory): not signed off"}' in graph
    assert len(re.findall(r"^    \w+ --> \w+$", graph, re.M)) == 46


def test_the_graphs_2a_gate_shows_its_signoff(catalogue, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"),
        signed_by=lead,
        signed_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        fingerprint="0" * 64,
    )

    graph = mermaid_graph(readme())

    assert '    gate_2a{"Phase 2A signoff (mandatory): signed off"}' in graph
    assert readme() == readme()
