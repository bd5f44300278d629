"""The dependency graph as a picture: a small layered layout the pages draw as SVG.

Phases are bands from left to right in plan order, the findings completed before the plan first.
Inside a band a finding stands one column right of its deepest dependency in the same band, so
every arrow points rightwards. Each gated phase's gate is a bar after its band. The layout holds
only numbers and model values; the template escapes every text it draws.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from findings.gates import phases_with_signoff
from findings.models import Dependency, Finding, Phase, Status

NODE_WIDTH = 84
NODE_HEIGHT = 28
COLUMN_WIDTH = 108
ROW_HEIGHT = 40
GATE_WIDTH = 72
MARGIN = 12
BAND_LABEL_HEIGHT = 34
GATE_LABEL_HEIGHT = 34
LEGEND_HEIGHT = 30
LEGEND_ENTRY_WIDTH = 120

# Fill and outline per status, light fills under dark text, so each reads in dark mode too.
STATUS_COLOURS = {
    Status.PLANNED: ("#e5e7eb", "#6b7280"),
    Status.IN_PROGRESS: ("#bfdbfe", "#1d4ed8"),
    Status.IN_REVIEW: ("#fde68a", "#b45309"),
    Status.DONE: ("#bbf7d0", "#15803d"),
    Status.COMPLETED: ("#99f6e4", "#0f766e"),
}
LEGEND_LABELS = {
    Status.PLANNED: "Planned",
    Status.IN_PROGRESS: "In progress",
    Status.IN_REVIEW: "In review",
    Status.DONE: "Done",
    Status.COMPLETED: "Completed earlier",
}
GATE_COLOURS = {True: "#15803d", False: "#b91c1c"}


@dataclass
class GraphNode:
    code: str
    title: str
    status: str
    phase_id: int | None
    x: int = 0
    y: int = 0
    dependencies: list["GraphNode"] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return Status(self.status).label if self.status in Status.values else self.status

    @property
    def fill(self) -> str:
        return STATUS_COLOURS.get(self.status, STATUS_COLOURS[Status.PLANNED])[0]

    @property
    def stroke(self) -> str:
        return STATUS_COLOURS.get(self.status, STATUS_COLOURS[Status.PLANNED])[1]

    @property
    def text_x(self) -> int:
        return self.x + NODE_WIDTH // 2

    @property
    def text_y(self) -> int:
        return self.y + NODE_HEIGHT // 2 + 4


@dataclass(frozen=True)
class GraphEdge:
    dependency: GraphNode
    dependant: GraphNode

    @property
    def path(self) -> str:
        """A curve from the dependency's right side to the dependant's left side."""
        x1 = self.dependency.x + NODE_WIDTH
        y1 = self.dependency.y + NODE_HEIGHT // 2
        x2 = self.dependant.x
        y2 = self.dependant.y + NODE_HEIGHT // 2
        bend = max((x2 - x1) // 2, 16)
        return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2 - 2},{y2}"


@dataclass
class GraphBand:
    label: str
    x: int
    width: int
    nodes: list[GraphNode] = field(default_factory=list)

    @property
    def label_x(self) -> int:
        return self.x + self.width // 2


@dataclass(frozen=True)
class GraphGate:
    phase: Phase
    signed: bool
    x: int

    @property
    def state(self) -> str:
        return "signed off" if self.signed else "not signed off"

    @property
    def colour(self) -> str:
        return GATE_COLOURS[self.signed]

    @property
    def centre(self) -> int:
        return self.x + GATE_WIDTH // 2


@dataclass(frozen=True)
class LegendEntry:
    label: str
    fill: str
    stroke: str
    x: int


@dataclass
class DependencyGraph:
    """What the picture shows, placed; `nodes` in plan order for the text alternative."""

    title: str
    bands: list[GraphBand]
    gates: list[GraphGate]
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    width: int
    height: int
    bands_bottom: int
    legend: list[LegendEntry]

    @property
    def description(self) -> str:
        gates = "; ".join(
            f"the phase {gate.phase.code} gate is {gate.state}" for gate in self.gates
        )
        return (
            f"{len(self.nodes)} findings in {len(self.bands)} bands, phases left to right, "
            f"{len(self.edges)} dependencies drawn as arrows from a finding to the findings that "
            f"depend on it{'; ' + gates if gates else ''}."
        )

    @property
    def legend_y(self) -> int:
        return self.bands_bottom + GATE_LABEL_HEIGHT

    @property
    def gate_label_y(self) -> int:
        return self.bands_bottom + 14


def graph_for_phase(phase: Phase) -> DependencyGraph:
    """The phase's findings, their dependencies and dependants, and the gates around them."""
    return _graph(f"Dependency graph of phase {phase.code}", Q(phase=phase))


def graph_for_finding(finding: Finding) -> DependencyGraph:
    """The finding with the findings it depends on and those that depend on it."""
    return _graph(f"Dependencies of {finding.code}", Q(pk=finding.pk))


def graph_for_plan() -> DependencyGraph:
    return _graph("Dependency graph of the plan", None)


def _graph(title: str, scope: Q | None) -> DependencyGraph:
    """Three queries: the phases with their signoff, the findings in scope, their links."""
    phases = phases_with_signoff()
    findings = Finding.objects.all() if scope is None else Finding.objects.filter(scope)
    nodes = {
        pk: GraphNode(code, title, status, phase_id)
        for pk, code, title, status, phase_id in findings.order_by("code").values_list(
            "pk", "code", "title", "status", "phase_id"
        )
    }
    links = Dependency.objects.all()
    if scope is not None:
        in_scope = list(nodes)
        links = links.filter(Q(finding_id__in=in_scope) | Q(depends_on_id__in=in_scope))
    ends = ("pk", "code", "title", "status", "phase_id")
    rows = links.order_by("finding__code", "depends_on__code").values_list(
        *(f"finding__{name}" for name in ends), *(f"depends_on__{name}" for name in ends)
    )
    pairs = []
    for row in rows:
        dependant, dependency = row[:5], row[5:]
        for pk, *values in (dependant, dependency):
            nodes.setdefault(pk, GraphNode(*values))
        pairs.append((nodes[dependency[0]], nodes[dependant[0]]))
        nodes[dependant[0]].dependencies.append(nodes[dependency[0]])
    return _layout(title, phases, sorted(nodes.values(), key=lambda node: node.code), pairs)


def _layout(
    title: str,
    phases: list[Phase],
    nodes: list[GraphNode],
    pairs: list[tuple[GraphNode, GraphNode]],
) -> DependencyGraph:
    order = {phase.pk: phase.order for phase in phases}
    depth = _depths(nodes, pairs)
    groups: dict[int | None, list[GraphNode]] = {}
    for node in nodes:
        groups.setdefault(node.phase_id, []).append(node)
    shown_orders = [order[phase_id] for phase_id in groups if phase_id is not None]
    latest = max(shown_orders, default=-1)

    bands, gates, x, tallest = [], [], MARGIN, 0
    sections: list[tuple[str, list[GraphNode]]] = []
    if None in groups:
        sections.append(("Before the plan", groups[None]))
    for phase in phases:
        if phase.pk in groups:
            sections.append((f"{phase.code} {phase.name}", groups[phase.pk]))
        # A gate locks every later phase, so it is drawn wherever such a phase is shown.
        if phase.requires_signoff and latest >= phase.order:
            sections.append(("gate", [phase]))
    for label, members in sections:
        if label == "gate":
            phase = members[0]
            gates.append(GraphGate(phase, phase.has_active_signoff, x))
            x += GATE_WIDTH
            continue
        columns: dict[int, list[GraphNode]] = {}
        for node in members:
            columns.setdefault(depth[node.code], []).append(node)
        band = GraphBand(label, x, len(columns) * COLUMN_WIDTH, members)
        for column, column_nodes in enumerate(
            sorted(columns.values(), key=lambda c: depth[c[0].code])
        ):
            for row, node in enumerate(column_nodes):
                node.x = x + column * COLUMN_WIDTH + (COLUMN_WIDTH - NODE_WIDTH) // 2
                node.y = MARGIN + BAND_LABEL_HEIGHT + row * ROW_HEIGHT
            tallest = max(tallest, len(column_nodes))
        bands.append(band)
        x += band.width
    bands_bottom = MARGIN + BAND_LABEL_HEIGHT + max(tallest, 1) * ROW_HEIGHT
    legend = [
        LegendEntry(label, *STATUS_COLOURS[status], MARGIN + n * LEGEND_ENTRY_WIDTH)
        for n, (status, label) in enumerate(LEGEND_LABELS.items())
    ]
    legend_width = MARGIN * 2 + len(legend) * LEGEND_ENTRY_WIDTH
    return DependencyGraph(
        title=title,
        bands=bands,
        gates=gates,
        nodes=nodes,
        edges=[GraphEdge(dependency, dependant) for dependency, dependant in pairs],
        width=max(x + MARGIN, legend_width),
        height=bands_bottom + GATE_LABEL_HEIGHT + LEGEND_HEIGHT,
        bands_bottom=bands_bottom,
        legend=legend,
    )


def _depths(nodes: list[GraphNode], pairs: list[tuple[GraphNode, GraphNode]]) -> dict[str, int]:
    """Each node's longest chain of dependencies inside its own band.

    The models refuse cycles, but rows written behind their back could hold one, so the
    relaxation stops after as many rounds as there are nodes instead of looping.
    """
    depth = {node.code: 0 for node in nodes}
    same_band = [(a, b) for a, b in pairs if a.phase_id == b.phase_id and a is not b]
    for _ in range(len(nodes)):
        changed = False
        for dependency, dependant in same_band:
            if depth[dependant.code] < depth[dependency.code] + 1:
                depth[dependant.code] = depth[dependency.code] + 1
                changed = True
        if not changed:
            break
    return depth
