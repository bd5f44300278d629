"""The phase-change protocol: how every change of a phase's content, gate or signoff runs.

A change takes its phases' row locks in id order, then the audit chain's head (findings.locks),
before it reads what it will change; and on the way out it revalidates the signoffs of the
phases it changed, so no path can leave standing a signoff whose approved content changed, and
tells the signers of a phase the change left ready to sign (findings.services.phase_news).
Every writing service enters through phase_change or item_phase_change, always in that lock
order, so no two transactions ever wait on each other in opposite orders.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q, QuerySet, Subquery

from findings.locks import chain_head_hold, phases_lock
from findings.models import ChecklistItem
from findings.services.approval import signoffs_revalidate
from findings.services.audit import ActionContext
from findings.services.phase_news import phases_ready_announce


@dataclass
class PhaseChange:
    """A change in progress: its locked phases, and the phases to revalidate when it ends."""

    # Why work in each locked phase may not go on, "" when it may, read under the lock.
    lock_reasons: dict[int, str]
    phase_ids: set[int] = field(default_factory=set)
    revalidate: bool = True
    item: ChecklistItem | None = None

    def lock_reason(self, phase_id: int | None) -> str:
        return self.lock_reasons.get(phase_id, "")

    def also_changes(self, phase_id: int | None) -> None:
        """Revalidate this phase too, found during the change; the caller holds its lock."""
        if phase_id is not None:
            self.phase_ids.add(phase_id)

    def skip_revalidation(self) -> None:
        """Nothing changed after all, or the caller read under the locks that no signoff stands."""
        self.revalidate = False


@contextmanager
def phase_change(
    *, phase_ids: Iterable[int | None], context: ActionContext, revalidate: bool = True
) -> Iterator[PhaseChange]:
    """Run a change of these phases under the protocol, in a transaction (a savepoint if nested).

    `revalidate=False` is for changes that handle signoffs themselves (signing, revoking, a
    gate) or change no phase's content (catalogue rows). One query for the phases' locks
    (none without phases), one for the head, and on the way out the revalidation's and one
    for the phases' readiness news (phases_ready_announce).
    """
    ids = sorted({phase_id for phase_id in phase_ids if phase_id is not None})
    with transaction.atomic():
        reasons = phases_lock(Q(pk__in=ids)) if ids else {}
        with chain_head_hold():
            change = PhaseChange(lock_reasons=reasons, phase_ids=set(ids), revalidate=revalidate)
            yield change
            _revalidate(change, context)


@contextmanager
def item_phase_change(
    *, item_id: int, items: QuerySet[ChecklistItem], context: ActionContext
) -> Iterator[PhaseChange]:
    """phase_change for one checklist item's phase, read from the item itself.

    The item (from `items`, which must select its finding) is read after its phase's lock, in
    a statement of its own, so it sees whatever committed while the lock was awaited. Should an
    admin move its finding to another phase between the lock and the read, the new phase's lock
    is taken in turn, still before the head; a finding outside every phase has no lock to take.
    Raises ChecklistItem.DoesNotExist.
    """
    finding_phase = ChecklistItem.objects.filter(pk=item_id).values("finding__phase")
    with transaction.atomic():
        while True:
            reasons = phases_lock(Q(pk=Subquery(finding_phase[:1])))
            item = items.get(pk=item_id)
            if item.finding.phase_id == next(iter(reasons), None):
                break
        with chain_head_hold():
            change = PhaseChange(lock_reasons=reasons, phase_ids=set(reasons), item=item)
            yield change
            _revalidate(change, context)


def _revalidate(change: PhaseChange, context: ActionContext) -> None:
    if change.revalidate and change.phase_ids:
        signoffs_revalidate(phase_ids=sorted(change.phase_ids), context=context)
    # Even without revalidation: a tick skips it when no signoff stands, and may complete a phase.
    if change.phase_ids:
        phases_ready_announce(phase_ids=sorted(change.phase_ids))
