"""Asking the signers of a ready phase to sign it off.

A module of its own because it runs under the phase-change protocol, which itself queues the
phase news (findings.services.phase_news), so that module cannot depend on the protocol.
"""

from datetime import timedelta

from django.utils import timezone

from findings.gates import phase_readiness
from findings.models import AuditEvent, Phase, Signoff
from findings.services.audit import ActionContext, audit_record, change_author, permission_used
from findings.services.errors import Refused
from findings.services.phase_news import signoff_requested_news
from findings.services.protocol import phase_change
from findings.signers import phase_signers

REQUEST_PERMISSION = "findings.tick_checklistitem"
REQUESTED = "phase.signoff_requested"
# A phase's signers are asked at most once in this time, so requests cannot flood their inboxes.
REQUEST_INTERVAL = timedelta(hours=1)


def signoff_request(*, phase_id: int, context: ActionContext) -> list:
    """Ask the phase's eligible signers to sign it off, and return them.

    Raises PermissionDenied, Phase.DoesNotExist or Refused: the phase has no gate, is signed,
    is not ready (a locked phase is not), was asked for within REQUEST_INTERVAL, or nobody may
    sign it.
    """
    permission = permission_used(context, REQUEST_PERMISSION)
    if context.is_system:
        raise Refused("A signoff request says who asks; a command cannot make one.")
    with phase_change(phase_ids=[phase_id], context=context, revalidate=False):
        phase = Phase.objects.get(pk=phase_id)
        if not phase.requires_signoff:
            raise Refused(f"Phase {phase.code} has no signoff gate.")
        if Signoff.objects.active().filter(phase=phase).exists():
            raise Refused(f"Phase {phase.code} is already signed off.")
        readiness = phase_readiness(phase)
        if not readiness.is_ready:
            raise Refused(f"Phase {phase.code} is not ready to sign off.", readiness.blockers)
        earlier = _request_within_interval(phase)
        if earlier is not None:
            at = timezone.localtime(earlier.created_at)
            raise Refused(
                f"Signoff of phase {phase.code} was already requested by "
                f"{change_author(earlier)} at {at:%H:%M}; it can be requested again an hour "
                "after that."
            )
        signers = phase_signers(phase)
        if not signers.eligible:
            raise Refused(
                f"Nobody can be asked to sign off phase {phase.code}.", [signers.nobody_reason]
            )
        audit_record(
            context=context,
            action=REQUESTED,
            obj=phase,
            permission=permission,
            after={
                "phase": phase.code,
                "requested_from": [user.get_username() for user in signers.eligible],
            },
        )
        signoff_requested_news(
            phase=phase, signers=signers.eligible, requested_by=context.actor.get_username()
        )
    return signers.eligible


def _request_within_interval(phase: Phase) -> AuditEvent | None:
    return (
        AuditEvent.objects.filter(
            action=REQUESTED,
            object_type="phase",
            object_id=str(phase.pk),
            created_at__gt=timezone.now() - REQUEST_INTERVAL,
        )
        .order_by("-sequence")
        .first()
    )
