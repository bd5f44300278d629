"""The pages' pictures as mermaid for the exported tree: burndowns and the dependency graph.

They are read with the pages' own functions (graph_for_plan, burndowns), once per export, and
written as mermaid so a code host draws them. A burndown ends at its last recorded day, never at
the clock's today, so the same database always exports the same bytes. Every text taken from the
database is escaped: labels with mermaid_label, ids with mermaid_node, prose with markdown_text.
"""

import itertools
from dataclasses import dataclass

from findings.burndown import Burndown, burndowns
from findings.export.escaping import markdown_text, mermaid_label, mermaid_node
from findings.graphs import STATUS_COLOURS, DependencyGraph, GraphNode, graph_for_plan
from findings.models import Phase, Status
from findings.selectors import phase_cards


@dataclass(frozen=True)
class ExportFigures:
    graph: DependencyGraph
    # Keyed by phase id, the whole plan's under None, as burndowns() returns them.
    burndowns: dict[int | None, Burndown]


def figures_load() -> ExportFigures:
    """The plan's graph and every burndown. Six queries, however many findings or events."""
    return ExportFigures(
        graph=graph_for_plan(), burndowns=burndowns(phase_cards(with_next_findings=False))
    )


def burndown_lines(burndown: Burndown, *, name: str) -> list[str]:
    """`name`'s burndown: its text alternative, then an xychart of at most TABLE_ROWS days."""
    lead = f"**{name}**: {markdown_text(burndown.summary)}"
    if not burndown.points:
        return [lead, ""]
    points = burndown.table
    sampled = f" ({len(points)} of its {len(burndown.points)} days)" if burndown.is_sampled else ""
    top = max(burndown.items_total, burndown.findings_total, 1)
    days = ", ".join(f'"{point.day:%Y-%m-%d}"' for point in points)
    return [
        f"{lead} The first line counts the items ticked, the second the findings done, at the "
        f"end of each day{sampled}.",
        "",
        "```mermaid",
        "xychart-beta",
        f'    title "{mermaid_label(burndown.title)}"',
        f"    x-axis [{days}]",
        f'    y-axis "Items ticked, findings done" 0 --> {top}',
        f"    line [{', '.join(str(point.items_ticked) for point in points)}]",
        f"    line [{', '.join(str(point.findings_done) for point in points)}]",
        "```",
        "",
    ]


def phase_graph_lines(graph: DependencyGraph, phase: Phase, phases: list[Phase]) -> list[str]:
    """The phase's part of the plan's graph, as its page draws it: the phase's findings, their
    dependencies and dependants, and the gates up to the latest phase shown. `phases` in order.
    """
    own = {node.code for node in graph.nodes if node.phase_id == phase.pk}
    edges = [edge for edge in graph.edges if {edge.dependency.code, edge.dependant.code} & own]
    shown = {node.code for edge in edges for node in (edge.dependency, edge.dependant)} | own
    nodes = [node for node in graph.nodes if node.code in shown]
    orders = {phase.pk: phase.order for phase in phases}
    latest = max((orders[node.phase_id] for node in nodes if node.phase_id in orders), default=-1)
    lines = [
        f"**Phase {markdown_text(phase.code)} dependency graph**: {len(nodes)} findings; a thick "
        "arrow leads through the phases in order, past each signoff gate, a thin arrow from a "
        "finding to each finding that depends on it.",
        "",
        "```mermaid",
        "graph TD",
    ]
    sequence = []
    earlier = [node for node in nodes if node.phase_id not in orders]
    if earlier:
        lines += _subgraph("before_plan", "Before the plan", earlier)
        sequence.append("before_plan")
    signed = {gate.phase.pk: gate.signed for gate in graph.gates}
    for shown_phase in phases:
        members = [node for node in nodes if node.phase_id == shown_phase.pk]
        node_id = f"phase_{mermaid_node(shown_phase.code).lower()}"
        if members:
            label = f"Phase {shown_phase.code} {shown_phase.name}"
            lines += _subgraph(node_id, label, members)
            sequence.append(node_id)
        if shown_phase.requires_signoff and latest >= shown_phase.order:
            gate = f"gate_{mermaid_node(shown_phase.code).lower()}"
            state = "signed off" if signed.get(shown_phase.pk) else "not signed off"
            label = f"Phase {shown_phase.code} signoff (mandatory): {state}"
            lines.append(f'    {gate}{{"{mermaid_label(label)}"}}')
            sequence.append(gate)
    lines += [f"    {source} ==> {target}" for source, target in itertools.pairwise(sequence)]
    lines += [
        f"    {mermaid_node(edge.dependency.code)} --> {mermaid_node(edge.dependant.code)}"
        for edge in edges
    ]
    lines += _status_classes(nodes)
    return [*lines, "```", ""]


def _subgraph(name: str, label: str, nodes: list[GraphNode]) -> list[str]:
    return [
        f'    subgraph {name}["{mermaid_label(label)}"]',
        *(
            f'        {mermaid_node(node.code)}["{mermaid_label(_node_label(node))}"]'
            for node in nodes
        ),
        "    end",
    ]


def _node_label(node: GraphNode) -> str:
    return f"{node.code} ({node.status_label.lower()})"


def _status_classes(nodes: list[GraphNode]) -> list[str]:
    """Each node coloured by its status, in the page's colours; a status stored behind the
    validation's back draws as planned, as on the page."""
    members: dict[Status, list[str]] = {}
    for node in nodes:
        status = Status(node.status) if node.status in Status.values else Status.PLANNED
        members.setdefault(status, []).append(mermaid_node(node.code))
    lines = []
    for status in Status:
        if status in members:
            fill, stroke = STATUS_COLOURS[status]
            lines.append(f"    classDef {status.value} fill:{fill},stroke:{stroke},color:#111827")
            lines.append(f"    class {','.join(members[status])} {status.value}")
    return lines
