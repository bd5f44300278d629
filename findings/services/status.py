"""The finding lifecycle: planned → in progress → in review → done, and back one step."""

from django.db.models import F
from django.utils import timezone

from findings.gates import FINISHED, lock_reason_for
from findings.models import (
    ChecklistItem,
    Dependency,
    Finding,
    Status,
    depends_into_future,
    future_dependency_message,
)
from findings.services.audit import (
    ActionContext,
    audit_record,
    change_author,
    last_change_of,
    permission_used,
)
from findings.services.errors import PhaseLocked, Refused, StaleVersion
from findings.services.protocol import phase_change

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
    dependant_links: list[Dependency] | None = None,
) -> list[str]:
    """Why `finding` may not move to `target` now; empty when it may.

    Checks the lifecycle and the rules that guard it: work starts only when every dependency is
    done (or was completed before the plan), a finding is done only when, besides that, every
    checklist item is ticked, and a finding leaves done only when no done finding depends on it,
    so that done stays true of its dependants. A page that has read the finding's dependency
    links (with their findings, ordered by code), its checklist items (ordered by position) or
    its dependant links (with their findings, ordered by code) passes them in, so they are not
    read twice.
    """
    current = Status(finding.status)
    if target not in Status.values:
        return [f"“{target}” is not a status; a finding is one of {', '.join(Status.values)}."]
    if target not in allowed_targets(current):
        allowed = ", ".join(Status(s).label.lower() for s in allowed_targets(current)) or "nothing"
        return [f"{finding.code} is {current.label.lower()}; it can move to {allowed}."]
    if current in FINISHED:
        return _done_dependants_blockers(finding, dependant_links)
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


def _done_dependants_blockers(
    finding: Finding, dependant_links: list[Dependency] | None
) -> list[str]:
    """Why `finding` may not leave done: the done findings that depend on it, one message each."""
    if dependant_links is None:
        dependant_links = finding.dependant_links.filter(finding__status=Status.DONE)
        dependant_links = dependant_links.select_related("finding").order_by("finding__code")
    return [
        f"{link.finding.code} is done and depends on {finding.code}: move {link.finding.code} "
        "back to in review first."
        for link in dependant_links
        if link.finding.status == Status.DONE
    ]


# A finding reaches every other status through the lifecycle, so it is created in one of these.
ENTRY_STATUSES = (Status.PLANNED, Status.COMPLETED)
ENTRY_RULE = (
    "A new finding enters the plan as planned, or as completed before the plan with no phase; "
    "it reaches later statuses only through the lifecycle."
)


def finding_save_problems(*, stored: Finding | None, finding: Finding) -> dict[str, list[str]]:
    """Why the lifecycle or a phase lock refuses saving `finding` over `stored`, by field.

    `stored` is the finding as it is now, None for a new one. A move and a status change are
    judged by the phase the finding goes to, as a page would judge them there: a locked phase
    takes no status change and no finding that is not planned, and a move may not leave the
    finding or one of its dependants depending on a later phase. One query for the target
    phase's lock when the finding moves or changes status, the transition's own, and two for
    the dependencies and dependants of a move.
    """
    if stored is None:
        return {} if finding.status in ENTRY_STATUSES else {"status": [ENTRY_RULE]}
    moved = stored.phase_id != finding.phase_id
    status_changed = stored.status != finding.status
    if not (moved or status_changed):
        return {}
    lock_reason = lock_reason_for(finding.phase)
    problems = {}
    if status_changed:
        if lock_reason:
            problems["status"] = [f"{finding.code} cannot be changed. {lock_reason}"]
        else:
            problems["status"] = transition_blockers(stored, finding.status)
    if moved and lock_reason and finding.status != Status.PLANNED:
        status = Status(finding.status).label.lower()
        problems["phase"] = [
            f"Only a planned finding may move into a locked phase, and {finding.code} would be "
            f"{status}. {lock_reason}"
        ]
    if moved:
        problems.setdefault("phase", []).extend(_future_dependencies_after_move(finding))
    return {field: messages for field, messages in problems.items() if messages}


def _future_dependencies_after_move(finding: Finding) -> list[str]:
    """Which of `finding`'s dependencies and dependants would wait on a later phase once it is
    in its new phase, one message each. Two queries.
    """
    dependencies = Dependency.objects.filter(finding_id=finding.pk).select_related(
        "depends_on__phase"
    )
    dependants = Dependency.objects.filter(depends_on_id=finding.pk).select_related(
        "finding__phase"
    )
    pairs = [(finding, link.depends_on) for link in dependencies.order_by("depends_on__code")]
    pairs += [(link.finding, finding) for link in dependants.order_by("finding__code")]
    return [
        future_dependency_message(finding=dependant, depends_on=dependency)
        for dependant, dependency in pairs
        if depends_into_future(finding=dependant, depends_on=dependency)
    ]


def finding_status_set(
    *, finding_id: int, target: str, expected_version: int, context: ActionContext
) -> Finding:
    """Move a finding to `target` under the lifecycle's rules, if nobody changed it meanwhile.

    Raises PermissionDenied, Finding.DoesNotExist, PhaseLocked, StaleVersion or Refused.
    """
    permission = permission_used(context, "findings.change_finding_status")
    phase_id = Finding.objects.values_list("phase_id", flat=True).get(pk=finding_id)
    with phase_change(phase_ids=[phase_id], context=context) as change:
        finding = Finding.objects.get(pk=finding_id)
        change.also_changes(finding.phase_id)
        lock_reason = change.lock_reason(phase_id)
        if lock_reason:
            raise PhaseLocked(
                f"{finding.code} cannot be changed. {lock_reason}",
                [lock_reason],
                current=finding,
            )
        if finding.status == target:
            change.skip_revalidation()
            return finding
        if finding.version != expected_version:
            raise StaleVersion(_changed_since_message(finding), current=finding)
        blockers = transition_blockers(finding, target)
        if blockers:
            target_name = Status(target).label.lower() if target in Status.values else target
            raise Refused(
                f"{finding.code} cannot move to {target_name}.", blockers, current=finding
            )
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
