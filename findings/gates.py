"""Reads of the phase gates: which phases are locked, and what blocks a phase's signoff."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, Subquery

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


@dataclass(frozen=True)
class PhaseLock:
    """A phase row locked for a change of its content, and what the change must respect."""

    phase_id: int
    reason: str  # why work in the phase may not go on, or ""


def phase_lock_for_change(phase_id: int | None) -> str:
    """Lock a phase's row for a change of its content, and say why it is locked, in one query.

    Returns "" when work in the phase may go on. Signing off locks the same row, so a change and
    a signoff of one phase never interleave.
    """
    lock = _phase_lock(Q(pk=phase_id)) if phase_id is not None else None
    return lock.reason if lock is not None else ""


def phase_lock_for_item(item_id: int) -> PhaseLock | None:
    """Lock the phase of a checklist item's finding, in one query; None when there is none.

    The item is not read here: the caller reads it after the lock, when nobody can change it.
    """
    finding_phase = ChecklistItem.objects.filter(pk=item_id).values("finding__phase")
    return _phase_lock(Q(pk=Subquery(finding_phase[:1])))


def _phase_lock(which: Q) -> PhaseLock | None:
    earliest_unsigned_gate = (
        Phase.objects.filter(order__lt=OuterRef("order"), requires_signoff=True)
        .exclude(Exists(Signoff.objects.active().filter(phase=OuterRef("pk"))))
        .order_by("order")
    )
    row = (
        # `of` keeps PostgreSQL from locking the rows of the subqueries' tables as well.
        Phase.objects.select_for_update(of=("self",))
        .filter(which)
        .annotate(
            gate_code=Subquery(earliest_unsigned_gate.values("code")[:1]),
            gate_name=Subquery(earliest_unsigned_gate.values("name")[:1]),
        )
        .values("pk", "gate_code", "gate_name")
        .first()
    )
    if row is None:
        return None
    reason = ""
    if row["gate_code"] is not None:
        reason = lock_reason_waiting_on(Phase(code=row["gate_code"], name=row["gate_name"]))
    return PhaseLock(phase_id=row["pk"], reason=reason)


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
    return readiness_given(
        phase,
        waiting_on=unsigned_gate_before(phase),
        findings=list(phase.findings.order_by("code")),
    )


def readiness_given(
    phase: Phase, *, waiting_on: Phase | None, findings: list[Finding]
) -> Readiness:
    """phase_readiness() for a page that has already read the phase's gate and its findings.

    `waiting_on` is the unsigned gate the phase waits on, if any, and `findings` are all of the
    phase's findings, ordered by code.
    """
    return Readiness(
        waiting_on=waiting_on,
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
