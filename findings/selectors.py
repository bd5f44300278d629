"""Reads behind the pages. Each runs a fixed number of queries however many findings exist."""

from dataclasses import dataclass, field

from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Sum, Value, When, Window
from django.db.models.functions import RowNumber

from findings.gates import (
    FINISHED,
    checklist_counts_by_phase,
    lock_reasons,
    phases_with_signoff,
)
from findings.models import (
    AuditEvent,
    ChecklistItem,
    Dependency,
    Finding,
    Phase,
    Signoff,
    Status,
)

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
    lock_reason: str = ""
    signoff: Signoff | None = None
    next_findings: list[Finding] = field(default_factory=list)

    @property
    def findings_open(self) -> int:
        return self.findings_total - self.findings_done

    @property
    def items_open(self) -> int:
        return self.items_total - self.items_ticked

    @property
    def is_ready_to_sign(self) -> bool:
        return (
            self.phase.requires_signoff
            and self.signoff is None
            and not self.lock_reason
            and self.findings_open == 0
            and self.items_open == 0
            and self.outside_dependencies_open == 0
        )

    @property
    def gate_state(self) -> str:
        """One of: locked, signed, ready, not_ready, no_gate."""
        if self.lock_reason:
            return "locked"
        if not self.phase.requires_signoff:
            return "no_gate"
        if self.signoff is not None:
            return "signed"
        return "ready" if self.is_ready_to_sign else "not_ready"

    @property
    def blockers(self) -> list[str]:
        blockers = [self.lock_reason] if self.lock_reason else []
        if self.findings_open:
            blockers.append(f"{self.findings_open} of {self.findings_total} findings not done")
        if self.items_open:
            blockers.append(f"{self.items_open} checklist items not ticked")
        if self.outside_dependencies_open:
            blockers.append(
                f"{self.outside_dependencies_open} dependencies on unfinished findings "
                "in other phases"
            )
        return blockers


def phase_cards(*, only: Phase | None = None, with_next_findings: bool = True) -> list[PhaseCard]:
    """Every phase's card in order, or only the card of phase `only`."""
    phases = phases_with_signoff()
    locks = lock_reasons(phases)
    cards = {
        phase.pk: PhaseCard(phase=phase, lock_reason=locks.get(phase.pk, ""))
        for phase in phases
        if only is None or phase.pk == only.pk
    }
    in_cards = Q(phase__in=list(cards))

    finding_rows = (
        Finding.objects.filter(in_cards)
        .values("phase")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(status=Status.DONE)),
            effort_min=Sum("effort_min_days", filter=~Q(status=Status.DONE)),
            effort_max=Sum("effort_max_days", filter=~Q(status=Status.DONE)),
            estimated=Count("pk", filter=~Q(status=Status.DONE) & Q(effort_min_days__isnull=False)),
        )
        .order_by()
    )
    for row in finding_rows:
        card = cards[row["phase"]]
        card.findings_total, card.findings_done = row["total"], row["done"]
        card.remaining_effort_min = row["effort_min"] or 0
        card.remaining_effort_max = row["effort_max"] or 0
        card.remaining_estimated = row["estimated"]
        card.remaining_unestimated = card.findings_open - row["estimated"]

    for phase_id, (ticked, total) in checklist_counts_by_phase(list(cards)).items():
        cards[phase_id].items_ticked, cards[phase_id].items_total = ticked, total

    outside_rows = (
        Dependency.objects.filter(finding__phase__in=list(cards))
        .exclude(depends_on__phase=F("finding__phase"))
        .exclude(depends_on__status__in=FINISHED)
        .values("finding__phase")
        .annotate(open=Count("pk"))
        .order_by()
    )
    for row in outside_rows:
        cards[row["finding__phase"]].outside_dependencies_open = row["open"]

    for signoff in (
        Signoff.objects.active().filter(phase__in=list(cards)).select_related("signed_by")
    ):
        cards[signoff.phase_id].signoff = signoff

    if with_next_findings:
        for finding in _next_findings_per_phase():
            cards[finding.phase_id].next_findings.append(finding)

    return list(cards.values())


def _next_findings_per_phase() -> list[Finding]:
    """The first few unfinished findings of each phase, most advanced first, in one query."""
    progress_rank = Case(
        When(status=Status.IN_REVIEW, then=Value(0)),
        When(status=Status.IN_PROGRESS, then=Value(1)),
        default=Value(2),
    )
    ranked = (
        Finding.objects.filter(phase__isnull=False)
        .exclude(status=Status.DONE)
        .annotate(
            progress_rank=progress_rank,
            rank=Window(
                RowNumber(),
                partition_by=[F("phase")],
                order_by=[progress_rank.asc(), F("code").asc()],
            ),
        )
        .filter(rank__lte=NEXT_BLOCKERS_SHOWN)
        .only("code", "title", "status", "phase")
        .order_by("progress_rank", "code")
    )
    return list(ranked)


def completed_findings() -> list[Finding]:
    return list(Finding.objects.filter(status=Status.COMPLETED).order_by("code"))


def phase_card_for(phase: Phase | None) -> PhaseCard | None:
    """The card of one phase, as the finding page shows it."""
    if phase is None:
        return None
    return phase_cards(only=phase, with_next_findings=False)[0]


def finding_history(finding: Finding, limit: int = 50) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(finding=finding).order_by("-created_at", "-id")[:limit])


def phase_progress(phase: Phase) -> PhaseCard:
    """The progress half of a phase's card, in one query, for responses that redraw only it."""
    findings = Finding.objects.filter(phase=OuterRef("pk")).order_by().values("phase")
    items = ChecklistItem.objects.filter(finding__phase=OuterRef("pk")).order_by()
    counts = (
        Phase.objects.filter(pk=phase.pk)
        .annotate(
            findings_total=Subquery(findings.annotate(n=Count("pk")).values("n")),
            findings_done=Subquery(
                findings.filter(status=Status.DONE).annotate(n=Count("pk")).values("n")
            ),
            items_total=Subquery(
                items.values("finding__phase").annotate(n=Count("pk")).values("n")
            ),
            items_ticked=Subquery(
                items.filter(checked=True)
                .values("finding__phase")
                .annotate(n=Count("pk"))
                .values("n")
            ),
        )
        .values("findings_total", "findings_done", "items_total", "items_ticked")
        .get()
    )
    return PhaseCard(phase=phase, **{name: value or 0 for name, value in counts.items()})
