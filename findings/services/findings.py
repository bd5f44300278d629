from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import F

from findings.item_keys import item_key_for
from findings.models import ChecklistItem, Finding, Status
from findings.seed import DEPENDENCY_PLACEHOLDER, STANDARD_CHECKLIST
from findings.services.audit import ActionContext, audit_record, permission_used
from findings.services.content import CONTENT_MODEL_FIELDS
from findings.services.dependencies import dependency_add, dependency_text
from findings.services.protocol import phase_change
from findings.services.status import finding_save_problems

AUDITED_FINDING_FIELDS = [
    field.name
    for field in Finding._meta.concrete_fields
    if field.editable and field.name not in ("id", "created_at", "updated_at")
]


TEXT_FIELDS = [
    field.name
    for field in Finding._meta.concrete_fields
    if field.get_internal_type() == "TextField"
]


def normalise_line_breaks(finding: Finding) -> None:
    """Store text with LF line breaks, as browsers submit CRLF whatever the page held.

    Without this an admin saving an untouched form would record every text section as changed.
    """
    for name in TEXT_FIELDS:
        setattr(finding, name, getattr(finding, name).replace("\r\n", "\n"))


def finding_snapshot(finding: Finding) -> dict:
    """The finding's editable fields as JSON-ready values, for before/after in the audit trail."""
    return {
        name: getattr(finding, Finding._meta.get_field(name).attname)
        for name in AUDITED_FINDING_FIELDS
    }


def finding_create(
    *, context: ActionContext, depends_on: Iterable[Finding] = (), **fields
) -> Finding:
    """Create a finding, its dependencies and, when it is in the plan, its standard checklist.

    A finding enters the plan as planned (or as completed before it, with no phase): later
    statuses are reached only through the lifecycle. Raises ValidationError.
    """
    permission = permission_used(context, "findings.add_finding")
    phase_id = fields.get("phase_id") or getattr(fields.get("phase"), "pk", None)
    with phase_change(phase_ids=[phase_id], context=context):
        finding = Finding(**fields)
        normalise_line_breaks(finding)
        finding.full_clean()
        _refuse_problems(finding_save_problems(stored=None, finding=finding))
        finding.save()
        audit_record(
            context=context,
            action="finding.created",
            obj=finding,
            permission=permission,
            after=finding_snapshot(finding),
            finding=finding,
        )
        for dependency in depends_on:
            dependency_add(finding=finding, depends_on=dependency, context=context)
        if finding.status != Status.COMPLETED:
            _create_standard_checklist(finding)
    return finding


def _refuse_problems(problems: dict[str, list[str]]) -> None:
    if problems:
        raise ValidationError(problems)


def _create_standard_checklist(finding: Finding) -> None:
    codes = sorted(finding.dependency_links.values_list("depends_on__code", flat=True))
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            finding=finding,
            section=section,
            position=position,
            text=dependency_text(codes) if DEPENDENCY_PLACEHOLDER in text else text,
            names_dependencies=DEPENDENCY_PLACEHOLDER in text,
            key=item_key_for(
                text=text, names_dependencies=DEPENDENCY_PLACEHOLDER in text, taken=()
            ),
        )
        for position, (section, text) in enumerate(STANDARD_CHECKLIST, start=1)
    )


def finding_update(*, finding: Finding, context: ActionContext) -> Finding:
    """Save the edits already applied to `finding`, recording exactly which fields changed.

    A move or a status change is judged by the phase the finding goes to: its lock and the
    lifecycle's rules (finding_save_problems). Raises ValidationError.
    """
    permission = permission_used(context, "findings.change_finding")
    normalise_line_breaks(finding)
    finding.full_clean()
    stored_phase_id = Finding.objects.values_list("phase_id", flat=True).get(pk=finding.pk)
    phase_ids = [stored_phase_id, finding.phase_id]
    with phase_change(phase_ids=phase_ids, context=context) as change:
        stored = Finding.objects.get(pk=finding.pk)
        change.also_changes(stored.phase_id)
        before, after = finding_snapshot(stored), finding_snapshot(finding)
        changed = [name for name in AUDITED_FINDING_FIELDS if before[name] != after[name]]
        if not changed:
            change.skip_revalidation()
            return finding
        _refuse_problems(finding_save_problems(stored=stored, finding=finding))
        finding.version = F("version") + 1
        # Always an expression: the form's copy of the counter may be older than the row's.
        content_changed = any(name in CONTENT_MODEL_FIELDS for name in changed)
        finding.content_version = F("content_version") + int(content_changed)
        finding.save()
        finding.refresh_from_db(fields=["version", "content_version", "updated_at"])
        audit_record(
            context=context,
            action="finding.updated",
            obj=finding,
            permission=permission,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
            finding=finding,
        )
    return finding


def finding_delete(*, finding: Finding, context: ActionContext) -> None:
    """Delete a finding with its checklist and its own dependencies; its history stays."""
    permission = permission_used(context, "findings.delete_finding")
    with phase_change(phase_ids=[finding.phase_id], context=context):
        audit_record(
            context=context,
            action="finding.deleted",
            obj=finding,
            permission=permission,
            before=finding_snapshot(finding),
            finding=finding,
        )
        finding.delete()
