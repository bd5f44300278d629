"""What a phase's signoff approves, and the rule that takes a signoff down when it stops standing.

The phase-change protocol (findings.services.protocol) applies the rule after every change of a
phase's content or of a finding's owner; signing records the content it approves.
"""

import hashlib
import json

from django.db.models import Exists, OuterRef
from django.utils import timezone

from findings.models import ChecklistItem, Dependency, Finding, Signoff
from findings.services.audit import ActionContext, audit_record
from findings.services.phase_news import revoked_news

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


def codes_owned(*, phase_id: int, owner_id: int) -> list[str]:
    """The codes of the phase's findings that this user owns: an owner may not sign it off."""
    return list(
        Finding.objects.filter(phase_id=phase_id, owner_id=owner_id)
        .order_by("code")
        .values_list("code", flat=True)
    )


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
        signoff_withdraw(signoff, context=context, reason=" ".join(reasons), automatically=True)
        audit_record(
            context=context,
            action="phase.signoff_auto_revoked",
            obj=signoff,
            permission=permission,
            before={"phase": signoff.phase.code, "fingerprint": signoff.fingerprint},
            after=after,
        )


def _signer_barred_reason(signoff: Signoff) -> str:
    owned = codes_owned(phase_id=signoff.phase_id, owner_id=signoff.signed_by_id)
    return (
        f"The signer now owns {', '.join(owned)} in phase {signoff.phase.code}; an owner may not "
        "sign off a phase with their own findings."
    )


def signoff_withdraw(signoff: Signoff, *, context: ActionContext, reason: str, automatically: bool):
    """Withdraw a signoff, the one way any is withdrawn, and tell those concerned."""
    signoff.revoked_at = timezone.now()
    signoff.revoked_by = context.actor
    signoff.revoke_reason = reason
    signoff.revoked_automatically = automatically
    signoff.save(
        update_fields=["revoked_at", "revoked_by", "revoke_reason", "revoked_automatically"]
    )
    revoked_news(signoff=signoff, context=context)
