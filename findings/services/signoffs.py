"""Phase signoff gates: signing, revoking, and revoking by itself when approved content changes."""

from django.utils import timezone

from findings.gates import phase_readiness
from findings.models import Phase, Signoff
from findings.services.approval import (
    content_fingerprint,
    phase_content,
    signoff_withdraw,
)
from findings.services.audit import ActionContext, audit_record, permission_used
from findings.services.errors import Refused, StaleVersion
from findings.services.phase_news import signed_news
from findings.services.protocol import phase_change
from findings.signers import SIGN_PERMISSION, duty_problems, is_service_account


def signing_problems(*, phase: Phase, user) -> list[str]:
    """Why `user` may not sign `phase` off, apart from the phase's own readiness."""
    if not user.has_perm(SIGN_PERMISSION):
        return ["Signing off needs the signoff lead role."]
    if is_service_account(user):
        return ["A service account attests machine checks; only a person signs a phase off."]
    return duty_problems(phase=phase, user_ids=[user.pk]).get(user.pk, [])


def signoff_sign(
    *, phase_id: int, expected_fingerprint: str, comment: str, context: ActionContext
) -> Signoff:
    """Sign a phase off, if it is ready, the signer is independent of its work, and its content
    is still the content the signer reviewed (`expected_fingerprint`, from the confirmation).

    Raises PermissionDenied, Phase.DoesNotExist, Refused (with the blockers) or StaleVersion when
    the content changed since the signer saw it. A refusal on separation of duties is audited,
    since it may be an attempt to approve one's own work.
    """
    permission = permission_used(context, SIGN_PERMISSION)
    refused_on_duty: list[str] = []
    try:
        with phase_change(phase_ids=[phase_id], context=context, revalidate=False):
            phase = Phase.objects.get(pk=phase_id)
            if not phase.requires_signoff:
                raise Refused(f"Phase {phase.code} has no signoff gate.")
            if Signoff.objects.active().filter(phase=phase).exists():
                raise Refused(f"Phase {phase.code} is already signed off.")
            gate = phase_readiness(phase).gate_state(phase, signoff=None)
            if not gate.is_ready:
                raise Refused(f"Phase {phase.code} is not ready to sign off.", gate.blockers)
            if context.is_system:
                raise Refused("A signoff is a person's approval; a command cannot sign.")
            refused_on_duty = signing_problems(phase=phase, user=context.actor)
            if refused_on_duty:
                raise Refused(f"You may not sign off phase {phase.code}.", refused_on_duty)
            content = phase_content(phase.pk)
            fingerprint = content_fingerprint(content)
            if fingerprint != expected_fingerprint:
                raise StaleVersion(
                    f"Phase {phase.code} changed since you reviewed it: its content fingerprint "
                    f"is now {fingerprint}. Nothing was signed; review the content again and "
                    "confirm.",
                    current=phase,
                )
            signoff = Signoff.objects.create(
                phase=phase,
                signed_by=context.actor,
                signed_at=timezone.now(),
                comment=comment,
                fingerprint=fingerprint,
                approved_content=content,
            )
            audit_record(
                context=context,
                action="phase.signed_off",
                obj=signoff,
                permission=permission,
                after={"phase": phase.code, "fingerprint": signoff.fingerprint, "comment": comment},
            )
            signed_news(signoff=signoff)
            return signoff
    except Refused as refusal:
        if refused_on_duty:
            audit_record(
                context=context,
                action="phase.signoff_refused",
                obj=phase,
                permission=permission,
                after={"phase": phase.code, "reasons": refusal.blockers},
            )
        raise


def signoff_revoke(*, phase_id: int, reason: str, context: ActionContext) -> Signoff:
    """Withdraw a phase's active signoff; the phases after it lock again."""
    permission = permission_used(context, SIGN_PERMISSION)
    reason = reason.strip()
    if not reason:
        raise Refused("Revoking a signoff needs a reason.")
    with phase_change(phase_ids=[phase_id], context=context, revalidate=False):
        phase = Phase.objects.get(pk=phase_id)
        signoff = Signoff.objects.active().filter(phase=phase).first()
        if signoff is None:
            raise Refused(f"Phase {phase.code} has no active signoff to revoke.")
        signoff_withdraw(signoff, context=context, reason=reason, automatically=False)
        audit_record(
            context=context,
            action="phase.signoff_revoked",
            obj=signoff,
            permission=permission,
            before={"phase": phase.code, "fingerprint": signoff.fingerprint},
            after={"reason": reason},
        )
    return signoff


def phase_gate_set(*, phase: Phase, requires_signoff: bool, context: ActionContext) -> Phase:
    """Put a signoff gate at the end of `phase`, or remove it, as an audited action of its own.

    Locks are computed from the gates, so a new gate locks the phases after it until it is
    signed off, and a removed gate unlocks them. A removed gate takes the phase's active signoff
    with it: that signoff approved passing a gate that no longer exists, and would otherwise
    stand again, unseen, should the gate come back.
    """
    permission = permission_used(context, "findings.change_phase")
    # A gate decides whether every phase after it is locked.
    every_phase = Phase.objects.values_list("pk", flat=True)
    with phase_change(phase_ids=every_phase, context=context, revalidate=False):
        was_gated = Phase.objects.values_list("requires_signoff", flat=True).get(pk=phase.pk)
        phase.requires_signoff = requires_signoff
        if was_gated == requires_signoff:
            return phase
        Phase.objects.filter(pk=phase.pk).update(requires_signoff=requires_signoff)
        audit_record(
            context=context,
            action="phase.gate_added" if requires_signoff else "phase.gate_removed",
            obj=phase,
            permission=permission,
            before={"phase": phase.code, "requires_signoff": was_gated},
            after={"phase": phase.code, "requires_signoff": requires_signoff},
        )
        signoff = Signoff.objects.active().filter(phase=phase).first()
        if signoff is not None and not requires_signoff:
            reason = f"The signoff gate of phase {phase.code} was removed."
            signoff_withdraw(signoff, context=context, reason=reason, automatically=True)
            audit_record(
                context=context,
                action="phase.signoff_auto_revoked",
                obj=signoff,
                permission="system:signoff gate removed",
                before={"phase": phase.code, "fingerprint": signoff.fingerprint},
                after={"reason": reason},
            )
    return phase
