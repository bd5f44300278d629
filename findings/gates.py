"""Reads of the phase gates: which phases are locked, and what blocks a phase's signoff."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, QuerySet

from findings.models import ChecklistItem, Dependency, Finding, Phase, Signoff, Status

FINISHED = (Status.DONE, Status.COMPLETED)


def phases_with_signoff() -> list[Phase]:
    """Every phase in order, each with `has_active_signoff` set, in one query."""
    return list(
        Phase.objects.annotate(
            has_active_signoff=Exists(Signoff.objects.active().filter(phase=OuterRef("pk")))
        ).order_by("order")
    )


def lock_reasons(phases: list[Phase]) -> dict[int, str]:
    """Map each locked phase's id to why it is locked; `phases` come from phases_with_signoff()."""
    return {pk: lock_reason_waiting_on(gate) for pk, gate in locking_gates(phases).items()}


def locking_gates(phases: list[Phase]) -> dict[int, Phase]:
    """Map each locked phase's id to the unsigned gate it waits on; `phases` as lock_reasons."""
    gates = {}
    waiting_on = None
    for phase in phases:
        if waiting_on is not None:
            gates[phase.pk] = waiting_on
        elif phase.requires_signoff and not phase.has_active_signoff:
            waiting_on = phase
    return gates


def phases_relocked_by_revoking(phase_id: int) -> list[Phase]:
    """The phases, in order, that a revocation of this phase's signoff would lock. One query."""
    phases = phases_with_signoff()
    locked_now = locking_gates(phases)
    for phase in phases:
        if phase.pk == phase_id:
            phase.has_active_signoff = False
    locked_after = locking_gates(phases)
    return [phase for phase in phases if phase.pk in locked_after.keys() - locked_now.keys()]


def unsigned_gates_before(order) -> QuerySet[Phase]:
    """The gated phases before `order` (a value or an OuterRef) with no active signoff, earliest
    first: the first of them locks the phase. The single SQL form of the rule locking_gates walks.
    """
    return (
        Phase.objects.filter(order__lt=order, requires_signoff=True)
        .exclude(Exists(Signoff.objects.active().filter(phase=OuterRef("pk"))))
        .order_by("order")
    )


def unsigned_gate_before(phase: Phase | None) -> Phase | None:
    """The earliest gated phase before `phase` that has no active signoff. One query."""
    if phase is None:
        return None
    return unsigned_gates_before(phase.order).first()


def lock_reason_waiting_on(gate: Phase | None) -> str:
    if gate is None:
        return ""
    return f"Locked until phase {gate.code} {gate.name} is signed off."


def lock_reason_for(phase: Phase | None) -> str:
    """Why `phase` is locked, or "" when work in it may go on. One query."""
    return lock_reason_waiting_on(unsigned_gate_before(phase))


@dataclass(frozen=True)
class GateState:
    """A phase's gate as every reader sees it: locked and why, what blocks its signoff, and why
    a given user may not sign it. Pages, the dashboard and the signoff service all decide
    "locked" and "ready to sign" here, from what each has already read.
    """

    requires_signoff: bool
    waiting_on: Phase | None  # the unsigned gate that locks the phase
    signoff: Signoff | None  # the phase's active signoff
    blockers: list[str]  # what stands between the phase and its signoff, the lock first
    signing_problems: list[str] = field(default_factory=list)  # why this user may not sign

    @property
    def lock_reason(self) -> str:
        return lock_reason_waiting_on(self.waiting_on)

    @property
    def is_ready(self) -> bool:
        return self.requires_signoff and self.signoff is None and not self.blockers

    @property
    def may_sign(self) -> bool:
        return self.is_ready and not self.signing_problems

    @property
    def state(self) -> str:
        """One of: locked, signed, ready, not_ready, no_gate."""
        if self.lock_reason:
            return "locked"
        if not self.requires_signoff:
            return "no_gate"
        if self.signoff is not None:
            return "signed"
        return "ready" if self.is_ready else "not_ready"


@dataclass(frozen=True)
class Blocker:
    """One thing that blocks a phase's signoff, with what it concerns, for a page to link to:
    the unsigned gate's phase, or a finding and, for an unticked item, that item.
    """

    text: str
    gate: Phase | None = None
    finding: Finding | None = None
    item: ChecklistItem | None = None


@dataclass(frozen=True)
class BlockerGroup:
    """What blocks a phase's signoff in one of its findings, summed up in one line
    ("BF-002: planned · 13 of 13 items not ticked"), with a line for each unticked item and
    each unfinished dependency outside the phase.
    """

    finding: Finding
    summary: str
    blockers: list[Blocker]


@dataclass
class Readiness:
    """What stands between a phase and its signoff, in detail; ready when there is nothing."""

    waiting_on: Phase | None = None
    unticked_items: list[ChecklistItem] = field(default_factory=list)
    unfinished_findings: list[Finding] = field(default_factory=list)
    outside_dependencies: list[Dependency] = field(default_factory=list)
    items_total: dict[int, int] = field(default_factory=dict)  # each finding's id: its items

    @property
    def is_ready(self) -> bool:
        return not self.blocked_by

    @property
    def blockers(self) -> list[str]:
        return [blocker.text for blocker in self.blocked_by]

    @property
    def blocked_by(self) -> list[Blocker]:
        blockers = []
        if self.waiting_on is not None:
            gate = self.waiting_on
            blockers.append(Blocker(lock_reason_waiting_on(gate), gate=gate))
        blockers += [
            Blocker(
                f"{finding.code} is {finding.get_status_display().lower()}, not done.",
                finding=finding,
            )
            for finding in self.unfinished_findings
        ]
        blockers += [
            Blocker(
                f"{link.finding.code} depends on {link.depends_on.code}, which is "
                f"{link.depends_on.get_status_display().lower()}.",
                finding=link.depends_on,
            )
            for link in self.outside_dependencies
        ]
        blockers += [
            Blocker(
                f"{item.finding.code}: “{item.text}” is not ticked.",
                finding=item.finding,
                item=item,
            )
            for item in self.unticked_items
        ]
        return blockers

    @property
    def gate_blocker(self) -> Blocker | None:
        """The unsigned gate the phase waits on, as a blocker linking to its phase."""
        if self.waiting_on is None:
            return None
        return Blocker(lock_reason_waiting_on(self.waiting_on), gate=self.waiting_on)

    @property
    def blocker_groups(self) -> list[BlockerGroup]:
        """The blockers other than the gate, one group per finding of the phase, by code."""
        unfinished = {finding.pk: finding for finding in self.unfinished_findings}
        findings: dict[int, Finding] = {}
        lines: dict[int, list[Blocker]] = {}
        for link in self.outside_dependencies:
            findings.setdefault(link.finding_id, link.finding)
            text = (
                f"Depends on {link.depends_on.code}, which is "
                f"{link.depends_on.get_status_display().lower()}."
            )
            lines.setdefault(link.finding_id, []).append(Blocker(text, finding=link.depends_on))
        for item in self.unticked_items:
            findings.setdefault(item.finding_id, item.finding)
            lines.setdefault(item.finding_id, []).append(
                Blocker(f"“{item.text}” is not ticked.", finding=item.finding, item=item)
            )
        findings.update(unfinished)
        groups = [
            BlockerGroup(
                finding=finding,
                summary=self._group_summary(finding, pk in unfinished, lines.get(pk, [])),
                blockers=lines.get(pk, []),
            )
            for pk, finding in findings.items()
        ]
        return sorted(groups, key=lambda group: group.finding.code)

    def _group_summary(self, finding: Finding, is_unfinished: bool, lines: list[Blocker]) -> str:
        facts = [finding.get_status_display().lower()] if is_unfinished else []
        unticked = sum(line.item is not None for line in lines)
        if unticked:
            total = self.items_total.get(finding.pk)
            of_total = f" of {total}" if total is not None else ""
            noun = "item" if (total or unticked) == 1 else "items"
            facts.append(f"{unticked}{of_total} {noun} not ticked")
        dependencies = len(lines) - unticked
        if dependencies:
            facts.append(
                f"{dependencies} unfinished "
                f"dependenc{'ies' if dependencies != 1 else 'y'} in other phases"
            )
        return f"{finding.code}: " + " · ".join(facts)

    def gate_state(
        self, phase: Phase, *, signoff: Signoff | None, signing_problems: Iterable[str] = ()
    ) -> GateState:
        return GateState(
            requires_signoff=phase.requires_signoff,
            waiting_on=self.waiting_on,
            signoff=signoff,
            blockers=self.blockers,
            signing_problems=list(signing_problems),
        )


def phase_readiness(phase: Phase) -> Readiness:
    """Everything that blocks signing `phase` off, in a fixed number of queries."""
    return readiness_given(
        phase,
        waiting_on=unsigned_gate_before(phase),
        findings=list(
            phase.findings.annotate(items_total=Count("checklist_items")).order_by("code")
        ),
    )


def readiness_given(
    phase: Phase, *, waiting_on: Phase | None, findings: list[Finding]
) -> Readiness:
    """phase_readiness() for a page that has already read the phase's gate and its findings.

    `waiting_on` is the unsigned gate the phase waits on, if any, and `findings` are all of the
    phase's findings, ordered by code, each with `items_total`, its number of checklist items.
    """
    return Readiness(
        waiting_on=waiting_on,
        items_total={finding.pk: finding.items_total for finding in findings},
        unfinished_findings=[finding for finding in findings if finding.status not in FINISHED],
        outside_dependencies=list(
            Dependency.objects.filter(finding__phase=phase)
            .exclude(depends_on__phase=phase)
            .exclude(depends_on__status__in=FINISHED)
            .select_related("finding", "depends_on")
            .order_by("finding__code", "depends_on__code")
        ),
        unticked_items=list(
            ChecklistItem.objects.filter(finding__phase=phase, checked=False)
            .select_related("finding")
            .order_by("finding__code", "position")
        ),
    )
