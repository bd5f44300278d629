"""Phase signoff gates: signing, revoking, and revoking by itself when approved content changes."""

import hashlib
import json

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from findings.audit_chain import chain_head_lock
from findings.gates import phase_readiness
from findings.models import AuditEvent, ChecklistItem, Dependency, Finding, Phase, Signoff
from findings.services.audit import ActionContext, audit_record, permission_used
from findings.services.errors import Refused

SIGN_PERMISSION = "findings.sign_off_phase"
FINGERPRINTED_FIELDS = [
    "title",
    "status",
    "priority",
    "effort_min_days",
    "effort_max_days",
    "problem_statement",
    "root_cause",
    "impact",
    "integration_points",
    "migration_sql",
    "go_implementation",
    "database_tests",
    "success_functional",
    "success_performance",
    "success_security",
    "success_integration",
    "rollback_sql",
]


def phase_content(phase_id: int) -> dict:
    """Exactly what a signoff of the phase approves, as plain data. Three queries."""
    findings = {
        row.pop("code"): {**row, "dependencies": [], "checklist": []}
        for row in Finding.objects.filter(phase_id=phase_id)
        .order_by("code")
        .values("code", *FINGERPRINTED_FIELDS)
    }
    for code, depends_on in (
        Dependency.objects.filter(finding__phase_id=phase_id)
        .order_by("finding__code", "depends_on__code")
        .values_list("finding__code", "depends_on__code")
    ):
        findings[code]["dependencies"].append(depends_on)
    for code, position, section, text, checked in (
        ChecklistItem.objects.filter(finding__phase_id=phase_id)
        .order_by("finding__code", "position")
        .values_list("finding__code", "position", "section", "text", "checked")
    ):
        findings[code]["checklist"].append([position, section, text, checked])
    return {"findings": findings}


def content_fingerprint(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_changes(approved: dict, current: dict) -> list[str]:
    """What differs between two phase contents, one short sentence per change."""
    before, after = approved.get("findings", {}), current.get("findings", {})
    changes = [f"{code} joined the phase." for code in sorted(after.keys() - before.keys())]
    changes += [f"{code} left the phase." for code in sorted(before.keys() - after.keys())]
    for code in sorted(before.keys() & after.keys()):
        old, new = before[code], after[code]
        for name in FINGERPRINTED_FIELDS:
            if old.get(name) != new.get(name):
                label = Finding._meta.get_field(name).verbose_name
                if name == "status":
                    changes.append(f"{code}: status {old[name]} → {new[name]}.")
                else:
                    changes.append(f"{code}: {label} changed.")
        if old["dependencies"] != new["dependencies"]:
            changes.append(
                f"{code}: dependencies {', '.join(old['dependencies']) or 'none'} → "
                f"{', '.join(new['dependencies']) or 'none'}."
            )
        old_items = {item[0]: item for item in old["checklist"]}
        new_items = {item[0]: item for item in new["checklist"]}
        for position in sorted(old_items.keys() | new_items.keys()):
            was, now = old_items.get(position), new_items.get(position)
            if was == now:
                continue
            if was and now and was[2] == now[2] and was[3] != now[3]:
                state = "ticked" if now[3] else "unticked"
                changes.append(f"{code}: “{now[2]}” {state}.")
            elif now is None:
                changes.append(f"{code}: checklist item “{was[2]}” removed.")
            elif was is None:
                changes.append(f"{code}: checklist item “{now[2]}” added.")
            else:
                changes.append(f"{code}: checklist item {position} edited.")
    return changes


def signing_problems(*, phase: Phase, user) -> list[str]:
    """Why `user` may not sign `phase` off, apart from the phase's own readiness."""
    if not user.has_perm(SIGN_PERMISSION):
        return ["Signing off needs the signoff lead role."]
    problems = []
    owned = _codes_owned(phase_id=phase.pk, owner_id=user.pk)
    if owned:
        problems.append(f"You own {', '.join(owned)} in this phase; someone else must sign it off.")
    if settings.SIGNOFF_STRICT_SEPARATION and (
        AuditEvent.objects.filter(
            actor=user, action="checklist_item.ticked", finding__phase=phase
        ).exists()
    ):
        problems.append(
            "You ticked checklist items in this phase; with strict separation of duties "
            "someone else must sign it off."
        )
    return problems


def _codes_owned(*, phase_id: int, owner_id: int) -> list[str]:
    """The codes of the phase's findings that this user owns: an owner may not sign it off."""
    return list(
        Finding.objects.filter(phase_id=phase_id, owner_id=owner_id)
        .order_by("code")
        .values_list("code", flat=True)
    )


def signoff_sign(*, phase_id: int, comment: str, context: ActionContext) -> Signoff:
    """Sign a phase off, if it is ready and the signer is independent of its work.

    Raises PermissionDenied, Phase.DoesNotExist or Refused (with the blockers). A refusal on
    separation of duties is audited, since it may be an attempt to approve one's own work.
    """
    permission = permission_used(context, SIGN_PERMISSION)
    duty_problems: list[str] = []
    try:
        with transaction.atomic():
            phase = Phase.objects.select_for_update().get(pk=phase_id)
            if not phase.requires_signoff:
                raise Refused(f"Phase {phase.code} has no signoff gate.")
            if Signoff.objects.active().filter(phase=phase).exists():
                raise Refused(f"Phase {phase.code} is already signed off.")
            readiness = phase_readiness(phase)
            if not readiness.is_ready:
                raise Refused(f"Phase {phase.code} is not ready to sign off.", readiness.blockers)
            if context.is_system:
                raise Refused("A signoff is a person's approval; a command cannot sign.")
            duty_problems = signing_problems(phase=phase, user=context.actor)
            if duty_problems:
                raise Refused(f"You may not sign off phase {phase.code}.", duty_problems)
            content = phase_content(phase.pk)
            signoff = Signoff.objects.create(
                phase=phase,
                signed_by=context.actor,
                signed_at=timezone.now(),
                comment=comment,
                fingerprint=content_fingerprint(content),
                approved_content=content,
            )
            audit_record(
                context=context,
                action="phase.signed_off",
                obj=signoff,
                permission=permission,
                after={"phase": phase.code, "fingerprint": signoff.fingerprint, "comment": comment},
            )
            return signoff
    except Refused as refusal:
        if duty_problems:
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
    with transaction.atomic():
        phase = Phase.objects.select_for_update().get(pk=phase_id)
        signoff = Signoff.objects.active().filter(phase=phase).first()
        if signoff is None:
            raise Refused(f"Phase {phase.code} has no active signoff to revoke.")
        _revoke(signoff, context=context, reason=reason, automatically=False)
        audit_record(
            context=context,
            action="phase.signoff_revoked",
            obj=signoff,
            permission=permission,
            before={"phase": phase.code, "fingerprint": signoff.fingerprint},
            after={"reason": reason},
        )
    return signoff


def phases_lock(phase_ids) -> None:
    """Lock these phases' rows, in id order, then the audit chain's head, before a change.

    Signing locks the phase row too, so a change and a signoff of the same phase queue: the
    signoff sees the change, or the change's revalidation sees the signoff. Every change takes
    these locks first, before it writes, and always in this order, so no two transactions ever
    wait on each other in opposite orders.
    """
    ids = sorted({phase_id for phase_id in phase_ids if phase_id is not None})
    if ids:
        list(Phase.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    chain_head_lock()


def signoffs_revalidate(*, phase_ids: list[int | None], context: ActionContext) -> None:
    """Revoke every active signoff among these phases that no longer stands.

    A signoff falls when its phase's approved content has changed, or when its signer now owns
    a finding of the phase, which would have barred them from signing it. Every service that
    changes a phase's content or a finding's owner calls this inside its own transaction, after
    its change, so no path can leave such a signoff standing. One query when no signoff
    stands, and three more per signoff.
    """
    signoffs = (
        Signoff.objects.active()
        .filter(phase_id__in=[p for p in phase_ids if p])
        .annotate(
            signer_owns_a_finding=Exists(
                Finding.objects.filter(phase=OuterRef("phase"), owner=OuterRef("signed_by"))
            )
        )
        .select_related("phase")
    )
    for signoff in signoffs:
        current = phase_content(signoff.phase_id)
        fingerprint = content_fingerprint(current)
        changes = []
        if fingerprint != signoff.fingerprint:
            changes = content_changes(signoff.approved_content, current)
        if not changes and not signoff.signer_owns_a_finding:
            continue
        reasons, after = [], {"fingerprint": fingerprint, "changes": changes}
        permission = "system:approved content changed"
        if changes:
            reasons.append("The approved content changed: " + " ".join(changes))
        if signoff.signer_owns_a_finding:
            barred = _signer_barred_reason(signoff)
            reasons.append(barred)
            after["signer_barred"] = barred
            if not changes:
                permission = "system:signer owns a finding of the phase"
        _revoke(signoff, context=context, reason=" ".join(reasons), automatically=True)
        audit_record(
            context=context,
            action="phase.signoff_auto_revoked",
            obj=signoff,
            permission=permission,
            before={"phase": signoff.phase.code, "fingerprint": signoff.fingerprint},
            after=after,
        )


def _signer_barred_reason(signoff: Signoff) -> str:
    owned = _codes_owned(phase_id=signoff.phase_id, owner_id=signoff.signed_by_id)
    return (
        f"The signer now owns {', '.join(owned)} in phase {signoff.phase.code}; an owner may not "
        "sign off a phase with their own findings."
    )


def phase_gate_set(*, phase: Phase, requires_signoff: bool, context: ActionContext) -> Phase:
    """Put a signoff gate at the end of `phase`, or remove it, as an audited action of its own.

    Locks are computed from the gates, so a new gate locks the phases after it until it is
    signed off, and a removed gate unlocks them. A removed gate takes the phase's active signoff
    with it: that signoff approved passing a gate that no longer exists, and would otherwise
    stand again, unseen, should the gate come back.
    """
    permission = permission_used(context, "findings.change_phase")
    with transaction.atomic():
        # A gate decides whether every phase after it is locked.
        phases_lock(Phase.objects.values_list("pk", flat=True))
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
            _revoke(signoff, context=context, reason=reason, automatically=True)
            audit_record(
                context=context,
                action="phase.signoff_auto_revoked",
                obj=signoff,
                permission="system:signoff gate removed",
                before={"phase": phase.code, "fingerprint": signoff.fingerprint},
                after={"reason": reason},
            )
    return phase


def _revoke(signoff: Signoff, *, context: ActionContext, reason: str, automatically: bool):
    signoff.revoked_at = timezone.now()
    signoff.revoked_by = context.actor
    signoff.revoke_reason = reason
    signoff.revoked_automatically = automatically
    signoff.save(
        update_fields=["revoked_at", "revoked_by", "revoke_reason", "revoked_automatically"]
    )
