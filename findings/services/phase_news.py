"""The messages that tell people about a phase's signoff: ready to sign, requested, signed, revoked.

Each is queued by the service that makes the change, in its transaction, through
notifications_queue, so the page, the admin and the commands all send them, and a change that
rolls back sends none.
"""

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from findings.gates import FINISHED, phase_readiness
from findings.models import ChecklistItem, Finding, NotificationKind, Phase, Signoff
from findings.services.audit import ActionContext
from findings.services.notifications import notifications_queue
from findings.signers import phase_signers, signoff_permission_holders


def phases_ready_announce(*, phase_ids: list[int]) -> None:
    """Tell the eligible signers of each of these phases that has just become ready to sign.

    Called at the end of every change of these phases, under their locks. A phase is announced
    once per becoming-ready: its announcement is cleared when it is found not ready, so work
    undone and redone announces it again. One query, for the gated unsigned phases' progress
    counters; readiness itself is read only for a phase whose counters say its work is complete
    and that was not announced yet.
    """
    unsigned_gates = (
        Phase.objects.filter(pk__in=phase_ids, requires_signoff=True)
        .exclude(Exists(Signoff.objects.active().filter(phase=OuterRef("pk"))))
        .annotate(
            has_unfinished=Exists(
                Finding.objects.filter(phase=OuterRef("pk")).exclude(status__in=FINISHED)
            )
        )
        .select_related("progress")
        .order_by("pk")
    )
    for phase in unsigned_gates:
        progress = phase.progress
        work_complete = (
            not phase.has_unfinished
            and progress.items_ticked == progress.items_total
            and progress.outside_dependencies_open == 0
        )
        if not work_complete:
            if phase.ready_announced_at is not None:
                Phase.objects.filter(pk=phase.pk).update(ready_announced_at=None)
        elif phase.ready_announced_at is None and phase_readiness(phase).is_ready:
            Phase.objects.filter(pk=phase.pk).update(ready_announced_at=timezone.now())
            notifications_queue(
                kind=NotificationKind.READY_TO_SIGN,
                phase=phase,
                recipients=phase_signers(phase).eligible,
                subject=f"Phase {phase.code} is ready to sign off",
                body=(
                    f"Every finding of phase {phase.code} {phase.name} is done and every "
                    "checklist item is ticked. You may sign it off."
                ),
            )


def signoff_requested_news(*, phase: Phase, signers: list, requested_by: str) -> None:
    notifications_queue(
        kind=NotificationKind.SIGNOFF_REQUESTED,
        phase=phase,
        recipients=signers,
        subject=f"{requested_by} requests the signoff of phase {phase.code}",
        body=(
            f"{requested_by} asks you to sign off phase {phase.code} {phase.name}: every finding "
            "is done and every checklist item is ticked."
        ),
    )


def signed_news(*, signoff: Signoff) -> None:
    phase, signer = signoff.phase, signoff.signed_by.get_username()
    comment = f"\n\nTheir comment: {signoff.comment}" if signoff.comment else ""
    notifications_queue(
        kind=NotificationKind.SIGNED,
        phase=phase,
        recipients=phase_audience(phase=phase, excluding=signoff.signed_by),
        subject=f"{signer} signed off phase {phase.code}",
        body=(
            f"{signer} signed off phase {phase.code} {phase.name} at "
            f"{signoff.signed_at:%Y-%m-%d %H:%M} UTC; the phases after it may start.{comment}"
        ),
    )


def revoked_news(*, signoff: Signoff, context: ActionContext) -> None:
    """Tell of a withdrawn signoff; its revoke_reason says why, and what changed if automatic."""
    phase = signoff.phase
    signed = f"signed by {signoff.signed_by.get_username()} at {signoff.signed_at:%Y-%m-%d %H:%M}"
    if signoff.revoked_automatically:
        subject = f"The signoff of phase {phase.code} was revoked automatically"
        lead = f"The signoff of phase {phase.code} {phase.name} ({signed} UTC) was revoked."
        excluding = None
    else:
        revoker = context.actor.get_username()
        subject = f"{revoker} revoked the signoff of phase {phase.code}"
        lead = f"{revoker} revoked the signoff of phase {phase.code} {phase.name} ({signed} UTC)."
        excluding = context.actor
    notifications_queue(
        kind=NotificationKind.REVOKED,
        phase=phase,
        recipients=phase_audience(phase=phase, excluding=excluding),
        subject=subject,
        body=f"{lead}\n\nReason: {signoff.revoke_reason}",
    )


def phase_audience(*, phase: Phase, excluding=None) -> list:
    """Who hears of a phase's signoff: the owners of its findings, the users whose ticks stand
    in it and the holders of the signoff permission, all active. One query.
    """
    audience = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(pk__in=Finding.objects.filter(phase_id=phase.pk).values("owner_id"))
            | Q(
                pk__in=ChecklistItem.objects.filter(
                    finding__phase_id=phase.pk, checked=True
                ).values("checked_by_id")
            )
            | Q(pk__in=signoff_permission_holders().values("pk"))
        )
        .order_by("username")
    )
    if excluding is not None:
        audience = audience.exclude(pk=excluding.pk)
    return list(audience)
