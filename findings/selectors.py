"""Reads behind the pages. Each runs a fixed number of queries however many findings exist."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Subquery

from findings.gates import GateState, lock_reason_waiting_on, locking_gates
from findings.models import AuditEvent, Finding, Phase, PhaseProgress, Signoff, Status

NEXT_BLOCKERS_SHOWN = 3


@dataclass
class PhaseCard:
    """One phase's progress and gate, as the dashboard and the finding pages show it."""

    phase: Phase
    findings_done: int = 0
    findings_total: int = 0
    items_ticked: int = 0
    items_total: int = 0
    remaining_effort_min: int = 0
    remaining_effort_max: int = 0
    remaining_estimated: int = 0
    remaining_unestimated: int = 0
    outside_dependencies_open: int = 0
    waiting_on: Phase | None = None  # the unsigned gate that locks this phase
    signoff: Signoff | None = None
    next_findings: list[Finding] = field(default_factory=list)

    @property
    def findings_open(self) -> int:
        return self.findings_total - self.findings_done

    @property
    def items_open(self) -> int:
        return self.items_total - self.items_ticked

    @property
    def findings_not_listed(self) -> int:
        """The unfinished findings beyond those in next_findings, for a card's "+N more"."""
        return max(self.findings_open - len(self.next_findings), 0)

    @property
    def gate(self) -> GateState:
        """The phase's gate, judged from the progress counters."""
        blockers = [lock_reason_waiting_on(self.waiting_on)] if self.waiting_on else []
        if self.findings_open:
            blockers.append(f"{self.findings_open} of {self.findings_total} findings not done")
        if self.items_open:
            blockers.append(f"{self.items_open} checklist items not ticked")
        if self.outside_dependencies_open:
            blockers.append(
                f"{self.outside_dependencies_open} dependencies on unfinished findings "
                "in other phases"
            )
        return GateState(
            requires_signoff=self.phase.requires_signoff,
            waiting_on=self.waiting_on,
            signoff=self.signoff,
            blockers=blockers,
        )

    @property
    def lock_reason(self) -> str:
        return self.gate.lock_reason

    @property
    def is_ready_to_sign(self) -> bool:
        return self.gate.is_ready

    @property
    def gate_state(self) -> str:
        """One of: locked, signed, ready, not_ready, no_gate."""
        return self.gate.state

    @property
    def blockers(self) -> list[str]:
        return self.gate.blockers


PROGRESS_FIELDS = [
    "findings_total",
    "findings_done",
    "remaining_effort_min",
    "remaining_effort_max",
    "remaining_estimated",
    "items_total",
    "items_ticked",
    "outside_dependencies_open",
]


def phase_cards(*, only: Phase | None = None, with_next_findings: bool = True) -> list[PhaseCard]:
    """Every phase's card in order, or only the card of phase `only`."""
    phases = _phases_with_progress(with_next_findings=with_next_findings)
    gates = locking_gates(phases)
    cards = {
        phase.pk: PhaseCard(phase=phase, waiting_on=gates.get(phase.pk))
        for phase in phases
        if only is None or phase.pk == only.pk
    }
    for card in cards.values():
        _copy_progress(card.phase.progress, card)

    for signoff in (
        Signoff.objects.active().filter(phase__in=list(cards)).select_related("signed_by")
    ):
        cards[signoff.phase_id].signoff = signoff

    if with_next_findings:
        next_ids = [
            getattr(card.phase, f"next_{n}")
            for card in cards.values()
            for n in range(NEXT_BLOCKERS_SHOWN)
        ]
        next_findings = (
            Finding.objects.filter(pk__in=[pk for pk in next_ids if pk is not None])
            .only("code", "title", "status", "phase")
            .order_by("progress_rank", "code")
        )
        for finding in next_findings:
            cards[finding.phase_id].next_findings.append(finding)

    return list(cards.values())


def _phases_with_progress(*, with_next_findings: bool) -> list[Phase]:
    """Every phase as phases_with_signoff() gives them, with its progress row, in one query.

    With `with_next_findings`, each also has the ids of its first unfinished findings as
    next_0, next_1, ... (None where the phase has fewer).
    """
    next_ids = {}
    if with_next_findings:
        next_ids = {f"next_{n}": _next_finding_id(n) for n in range(NEXT_BLOCKERS_SHOWN)}
    return list(
        Phase.objects.select_related("progress")
        .annotate(
            has_active_signoff=Exists(Signoff.objects.active().filter(phase=OuterRef("pk"))),
            **next_ids,
        )
        .order_by("order")
    )


def _next_finding_id(n: int) -> Subquery:
    """The id of a phase's (n+1)th unfinished finding, most advanced first, from an index."""
    unfinished = Finding.objects.filter(phase=OuterRef("pk"), progress_rank__isnull=False)
    return Subquery(unfinished.order_by("progress_rank", "code").values("pk")[n : n + 1])


def _copy_progress(progress: PhaseProgress, card: PhaseCard) -> None:
    for name in PROGRESS_FIELDS:
        setattr(card, name, getattr(progress, name))
    card.remaining_unestimated = card.findings_open - card.remaining_estimated


def completed_findings() -> list[Finding]:
    return list(Finding.objects.filter(status=Status.COMPLETED).order_by("code"))


def phase_card_by_code(code: str) -> PhaseCard | None:
    """The card of the phase with this code, its phase read along with it, or None."""
    return next(
        (card for card in phase_cards(with_next_findings=False) if card.phase.code == code), None
    )


def phase_card_for(phase: Phase | None) -> PhaseCard | None:
    """The card of one phase, as the finding page shows it."""
    if phase is None:
        return None
    return phase_cards(only=phase, with_next_findings=False)[0]


def finding_history(finding: Finding, limit: int = 50) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(finding=finding).order_by("-created_at", "-id")[:limit])


def phase_progress(phase: Phase) -> PhaseCard:
    """The progress half of a phase's card, in one query, for responses that redraw only it."""
    card = PhaseCard(phase=phase)
    _copy_progress(PhaseProgress.objects.get(phase=phase), card)
    return card
