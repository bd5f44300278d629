"""README.md of the exported tree: the index, gate states, the dependency graph, the burndown."""

import itertools
from datetime import UTC

from findings.export.escaping import link_target, markdown_text, mermaid_label, mermaid_node
from findings.export.figures import burndown_lines
from findings.export.snapshot import CompletedFinding, DocumentEntry, ExportSnapshot, PhaseEntry
from findings.models import Signoff, Status
from findings.seed import TITLE_PLACEHOLDER

INTRO = """\
Index and navigation for the tactical implementation documents of the remaining DomainFlow forensic
audit findings: one document per finding (BL-010 to BL-014 share one), organised by implementation
phase, each following the Enhanced Document Template (sections 1–6).

These files are generated from the DomainFlow Finding Tracker by
`python manage.py export_tactical_docs`. Edit a finding in the tracker, not here, and export again:
the same database always gives the same bytes."""

# The seed's Document Generation Sequence, Phase 1: Infrastructure Setup, word for word.
SETUP_STEPS = (
    "Create phase-based directory structure",
    "Generate README.md with navigation and overview",
    "Set up document template system",
)


def readme_markdown(snapshot: ExportSnapshot) -> str:
    lines = ["# DomainFlow Tactical Implementation Plans", "", INTRO, ""]
    lines += _phase_table(snapshot)
    lines += _setup_steps()
    lines += ["## Documents", "", "In generation sequence; the checklist is each document's "
              "CI/CD validation checklist, ticked items of all items.", ""]  # fmt: skip
    for phase_entry in snapshot.phases:
        lines += _phase_documents(phase_entry)
    lines += _completed_findings(snapshot)
    lines += _dependency_graph(snapshot)
    lines += _burndown(snapshot)
    return "\n".join(lines).rstrip("\n") + "\n"


def gate_text(phase_entry: PhaseEntry) -> str:
    """The phase's gate as markdown, its names escaped."""
    phase, signoff = phase_entry.phase, phase_entry.signoff
    code = markdown_text(phase.code)
    if phase.requires_signoff and signoff is not None:
        return f"✅ Phase {code} {signed_off_text(signoff)}"
    if phase.requires_signoff:
        return f"🚫 MANDATORY PHASE {code} SIGNOFF REQUIRED"
    if phase_entry.lock_reason:
        return f"🔒 {markdown_text(phase_entry.lock_reason)}"
    return "No signoff gate"


def signed_off_text(signoff: Signoff) -> str:
    """`signed off by NAME on DATE TIME UTC`, the name escaped."""
    when = signoff.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"signed off by {markdown_text(signoff.signed_by.get_username())} on {when}"


def _setup_steps() -> list[str]:
    return [
        "## Phase 1: Infrastructure Setup",
        "",
        "The first steps of the seed's document generation sequence, before the documents:",
        "",
        *(f"{number}. {step}" for number, step in enumerate(SETUP_STEPS, start=1)),
        "",
    ]


def _completed_findings(snapshot: ExportSnapshot) -> list[str]:
    """The findings done before the plan began: they have no document, only dependents."""
    lines = ["## Completed before this plan", ""]
    lines += [_completed_line(finding) for finding in snapshot.completed] or ["None."]
    return [*lines, ""]


def _completed_line(finding: CompletedFinding) -> str:
    # The seed names the completed findings without titles; show one only once an admin sets it.
    title = "" if finding.title == TITLE_PLACEHOLDER else f": {markdown_text(finding.title)}"
    return f"- ✅ {markdown_text(finding.code)}{title}"


def _phase_table(snapshot: ExportSnapshot) -> list[str]:
    lines = [
        "## Phases",
        "",
        "| Phase | Priority band | Documents | Findings done | Checklist | Signoff gate |",
        "|---|---|---|---|---|---|",
    ]
    for phase_entry in snapshot.phases:
        phase, documents = phase_entry.phase, phase_entry.documents
        parts = [part for entry in documents for part in entry.parts]
        done = sum(part.finding.status == Status.DONE for part in parts)
        ticked = sum(entry.items_ticked for entry in documents)
        total = sum(entry.items_total for entry in documents)
        lines.append(
            f"| [{markdown_text(phase.code)} {markdown_text(phase.name)}]"
            f"({link_target(phase.folder_name)}/) | {markdown_text(phase.priority_band)} "
            f"| {len(documents)} | {done} of {len(parts)} | {ticked} of {total} ticked "
            f"| {gate_text(phase_entry)} |"
        )
    return [*lines, ""]


def _phase_documents(phase_entry: PhaseEntry) -> list[str]:
    phase = phase_entry.phase
    lines = [
        f"### Phase {markdown_text(phase.code)}: {markdown_text(phase.name)} - "
        f"{markdown_text(phase.priority_band)}",
        "",
        "| # | Document | Findings | Status | Checklist |",
        "|---|---|---|---|---|",
    ]
    lines += [_document_row(entry) for entry in phase_entry.documents] or [
        "| | No documents in this phase. | | | |"
    ]
    lines.append("")
    if phase.requires_signoff:
        lines += [f"**{gate_text(phase_entry)}**", ""]
    return lines


def _document_row(entry: DocumentEntry) -> str:
    document = entry.document
    return (
        f"| {document.sequence} | [{markdown_text(document.file_name)}]({link_target(entry.path)})"
        f": {markdown_text(document.title)} "
        f"| {', '.join(entry.codes) or '—'} | {entry.status_summary} "
        f"| {entry.items_ticked} of {entry.items_total} |"
    )


def _dependency_graph(snapshot: ExportSnapshot) -> list[str]:
    """A mermaid graph: the phases in order, each gate between its phase and the next, and
    arrows from a finding to those that build on it, in plan order."""
    lines = [
        "## Dependency graph",
        "",
        "Thick arrows lead through the phases in order, past each signoff gate; a thin arrow "
        "leads from a finding to each finding that depends on it.",
        "",
        "```mermaid",
        "graph TD",
    ]
    placed = set()
    sequence = []
    for phase_entry in snapshot.phases:
        phase = phase_entry.phase
        codes = [code for entry in phase_entry.documents for code in entry.codes]
        node, label = (
            f"phase_{mermaid_node(phase.code).lower()}",
            f"Phase {phase.code} {phase.name}",
        )
        lines += _subgraph(node, label, codes) or [f'    {node}["{mermaid_label(label)}"]']
        sequence.append(node)
        if phase.requires_signoff:
            gate = f"gate_{mermaid_node(phase.code).lower()}"
            state = "signed off" if phase_entry.signoff else "not signed off"
            label = f"Phase {phase.code} signoff (mandatory): {state}"
            lines.append(f'    {gate}{{"{mermaid_label(label)}"}}')
            sequence.append(gate)
        placed.update(codes)
    edges = [
        (dependency.code, part.finding.code)
        for entry in snapshot.documents
        for part in entry.parts
        for dependency in part.dependencies
    ]
    outside = sorted({code for code, _ in edges} - placed)
    completed = [code for code in outside if code in set(snapshot.completed_codes)]
    lines += _subgraph("completed", "Completed before this plan", completed)
    lines += [_node_line(code, indent=4) for code in outside if code not in completed]
    lines += [f"    {source} ==> {target}" for source, target in itertools.pairwise(sequence)]
    lines += [f"    {mermaid_node(source)} --> {mermaid_node(target)}" for source, target in edges]
    return [*lines, "```", ""]


def _burndown(snapshot: ExportSnapshot) -> list[str]:
    return [
        "## Burndown",
        "",
        *burndown_lines(snapshot.figures.burndowns[None], name="The plan's burndown"),
    ]


def _subgraph(name: str, label: str, codes: list[str]) -> list[str]:
    if not codes:
        return []
    nodes = [_node_line(code, indent=8) for code in codes]
    return [f'    subgraph {name}["{mermaid_label(label)}"]', *nodes, "    end"]


def _node_line(code: str, *, indent: int) -> str:
    return f'{" " * indent}{mermaid_node(code)}["{mermaid_label(code)}"]'
