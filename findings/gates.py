"""Reads of the phase gates: which phases are locked, and what blocks a phase's signoff."""

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, Subquery

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
    reasons = {}
    waiting_on = None
    for phase in phases:
        if waiting_on is not None:
            reasons[phase.pk] = lock_reason_waiting_on(waiting_on)
        elif phase.requires_signoff and not phase.has_active_signoff:
            waiting_on = phase
    return reasons


def unsigned_gate_before(phase: Phase | None) -> Phase | None:
    """The earliest gated phase before `phase` that has no active signoff. One query."""
    if phase is None:
        return None
    return (
        Phase.objects.filter(order__lt=phase.order, requires_signoff=True)
        .exclude(Exists(Signoff.objects.active().filter(phase=OuterRef("pk"))))
        .order_by("order")
        .first()
    )


def phase_lock_for_change(phase_id: int | None) -> str:
    """Lock a phase's row for a change of its content, and say why it is locked, in one query.

    Returns "" when work in the phase may go on. Signing off locks the same row, so a change and
    a signoff of one phase never interleave.
    """
    if phase_id is None:
        return ""
    earliest_unsigned_gate = (
        Phase.objects.filter(order__lt=OuterRef("order"), requires_signoff=True)
        .exclude(Exists(Signoff.objects.active().filter(phase=OuterRef("pk"))))
        .order_by("order")
    )
    row = (
        Phase.objects.select_for_update()
        .filter(pk=phase_id)
        .annotate(
            gate_code=Subquery(earliest_unsigned_gate.values("code")[:1]),
            gate_name=Subquery(earliest_unsigned_gate.values("name")[:1]),
        )
        .values("gate_code", "gate_name")
        .get()
    )
    if row["gate_code"] is None:
        return ""
    return lock_reason_waiting_on(Phase(code=row["gate_code"], name=row["gate_name"]))


def lock_reason_waiting_on(gate: Phase | None) -> str:
    if gate is None:
        return ""
    return f"Locked until phase {gate.code} {gate.name} is signed off."


def lock_reason_for(phase: Phase | None) -> str:
    """Why `phase` is locked, or "" when work in it may go on. One query."""
    return lock_reason_waiting_on(unsigned_gate_before(phase))


@dataclass
class Readiness:
    """What stands between a phase and its signoff; ready when there is nothing."""

    waiting_on: Phase | None = None
    unticked_items: list[ChecklistItem] = field(default_factory=list)
    unfinished_findings: list[Finding] = field(default_factory=list)
    outside_dependencies: list[Dependency] = field(default_factory=list)

    @property
    def is_ready(self) -> bool:
        return not self.linked_blockers

    @property
    def blockers(self) -> list[str]:
        return [text for text, _ in self.linked_blockers]

    @property
    def linked_blockers(self) -> list[tuple[str, str]]:
        """Each blocker with the address of the page where it can be cleared."""
        blockers = []
        if self.waiting_on is not None:
            gate = self.waiting_on
            blockers.append((lock_reason_waiting_on(gate), f"/phases/{gate.code}/"))
        blockers += [
            (
                f"{finding.code} is {finding.get_status_display().lower()}, not done.",
                f"/findings/{finding.code}/",
            )
            for finding in self.unfinished_findings
        ]
        blockers += [
            (
                f"{link.finding.code} depends on {link.depends_on.code}, which is "
                f"{link.depends_on.get_status_display().lower()}.",
                f"/findings/{link.depends_on.code}/",
            )
            for link in self.outside_dependencies
        ]
        blockers += [
            (
                f"{item.finding.code}: “{item.text}” is not ticked.",
                f"/findings/{item.finding.code}/#item-{item.pk}",
            )
            for item in self.unticked_items
        ]
        return blockers


def phase_readiness(phase: Phase) -> Readiness:
    """Everything that blocks signing `phase` off, in a fixed number of queries."""
    return Readiness(
        waiting_on=unsigned_gate_before(phase),
        unfinished_findings=list(phase.findings.exclude(status__in=FINISHED).order_by("code")),
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


def checklist_counts_by_phase(phase_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Map each of these phases' ids to (ticked items, all items), in one query."""
    rows = (
        ChecklistItem.objects.filter(finding__phase__in=phase_ids)
        .values("finding__phase")
        .annotate(total=Count("pk"), ticked=Count("pk", filter=Q(checked=True)))
        .order_by()
    )
    return {row["finding__phase"]: (row["ticked"], row["total"]) for row in rows}
