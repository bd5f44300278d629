"""The finding lifecycle: planned → in progress → in review → done, and back one step."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from findings.audit_chain import chain_head_lock
from findings.gates import FINISHED, lock_reason_for, phase_lock_for_change
from findings.models import ChecklistItem, Dependency, Finding, Status
from findings.services.audit import (
    ActionContext,
    audit_record,
    change_author,
    last_change_of,
    permission_used,
)
from findings.services.errors import PhaseLocked, Refused, StaleVersion
from findings.services.signoffs import signoffs_revalidate

FORWARD = {
    Status.PLANNED: Status.IN_PROGRESS,
    Status.IN_PROGRESS: Status.IN_REVIEW,
    Status.IN_REVIEW: Status.DONE,
}
BACKWARD = {target: source for source, target in FORWARD.items()}


def allowed_targets(status: str) -> list[str]:
    """The statuses a finding in `status` may move to, forward first."""
    return [s for s in (FORWARD.get(status), BACKWARD.get(status)) if s is not None]


def transition_blockers(
    finding: Finding,
    target: str,
    dependency_links: list[Dependency] | None = None,
    checklist_items: list[ChecklistItem] | None = None,
) -> list[str]:
    """Why `finding` may not move to `target` now; empty when it may.

    Checks the lifecycle and the rules that guard it: work starts only when every dependency is
    done (or was completed before the plan), and a finding is done only when, besides that, every
    checklist item is ticked. A page that has read the finding's dependency links (with their
    findings, ordered by code) or its checklist items (ordered by position) passes them in, so
    they are not read twice.
    """
    current = Status(finding.status)
    if target not in Status.values:
        return [f"“{target}” is not a status; a finding is one of {', '.join(Status.values)}."]
    if target not in allowed_targets(current):
        allowed = ", ".join(Status(s).label.lower() for s in allowed_targets(current)) or "nothing"
        return [f"{finding.code} is {current.label.lower()}; it can move to {allowed}."]
    if target not in (Status.IN_PROGRESS, Status.DONE) or target == BACKWARD.get(current):
        return []
    if dependency_links is None:
        dependency_links = finding.dependency_links.select_related("depends_on").order_by(
            "depends_on__code"
        )
    blockers = [
        f"{link.depends_on.code} is {link.depends_on.get_status_display().lower()}, not done."
        for link in dependency_links
        if link.depends_on.status not in FINISHED
    ]
    if target == Status.DONE:
        if checklist_items is None:
            checklist_items = finding.checklist_items.filter(checked=False).order_by("position")
        blockers += [
            f"“{item.text}” is not ticked." for item in checklist_items if not item.checked
        ]
    return blockers


def status_change_problems(finding: Finding, target: str) -> list[str]:
    """Everything that refuses moving `finding` (as stored) to `target`: a lock, then the rules."""
    lock_reason = lock_reason_for(finding.phase)
    if lock_reason:
        return [f"{finding.code} cannot be changed. {lock_reason}"]
    return transition_blockers(finding, target)


def finding_status_set(
    *, finding_id: int, target: str, expected_version: int, context: ActionContext
) -> Finding:
    """Move a finding to `target` under the lifecycle's rules, if nobody changed it meanwhile.

    Raises PermissionDenied, Finding.DoesNotExist, PhaseLocked, StaleVersion or Refused.
    """
    permission = permission_used(context, "findings.change_finding_status")
    with transaction.atomic():
        phase_id = Finding.objects.values_list("phase_id", flat=True).get(pk=finding_id)
        lock_reason = phase_lock_for_change(phase_id)
        chain_head_lock()
        finding = Finding.objects.select_for_update().get(pk=finding_id)
        if lock_reason:
            raise PhaseLocked(f"{finding.code} cannot be changed. {lock_reason}", [lock_reason])
        if finding.status == target:
            return finding
        if finding.version != expected_version:
            raise StaleVersion(_changed_since_message(finding), current=finding)
        blockers = transition_blockers(finding, target)
        if blockers:
            target_name = Status(target).label.lower() if target in Status.values else target
            raise Refused(f"{finding.code} cannot move to {target_name}.", blockers)
        before = {"status": finding.status, "version": finding.version}
        Finding.objects.filter(pk=finding.pk).update(
            status=target, version=F("version") + 1, updated_at=timezone.now()
        )
        finding.refresh_from_db(fields=["status", "version", "updated_at"])
        audit_record(
            context=context,
            action="finding.status_changed",
            obj=finding,
            permission=permission,
            before=before,
            after={"status": finding.status, "version": finding.version},
            finding=finding,
        )
        signoffs_revalidate(phase_ids=[finding.phase_id], context=context)
    return finding


def _changed_since_message(finding: Finding) -> str:
    now = f"it is now {finding.get_status_display().lower()}"
    last_change = last_change_of(finding)
    if last_change is None:
        return (
            f"{finding.code} changed after your page loaded ({now}). Your change was not applied."
        )
    when = timezone.localtime(last_change.created_at)
    return (
        f"{change_author(last_change)} changed {finding.code} at {when:%Y-%m-%d %H:%M:%S %Z}, "
        f"after your page loaded ({now}). Your change was not applied."
    )
