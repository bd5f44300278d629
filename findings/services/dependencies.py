from django.core.exceptions import ValidationError
from django.db import connection

from findings.models import (
    ChecklistItem,
    Dependency,
    Finding,
    Status,
    cycle_message,
    dependency_problems,
)
from findings.seed import DEPENDENCY_PLACEHOLDER, STANDARD_CHECKLIST
from findings.services.approval import signoffs_revalidate
from findings.services.audit import ActionContext, audit_record, permission_used
from findings.services.checklist import done_stays_ticked_message
from findings.services.protocol import phase_change

DEPENDENCY_ITEM_TEMPLATE = next(
    text for _, text in STANDARD_CHECKLIST if DEPENDENCY_PLACEHOLDER in text
)
NO_DEPENDENCIES = "no other findings"


def dependency_text(codes: list[str]) -> str:
    return DEPENDENCY_ITEM_TEMPLATE.replace(
        DEPENDENCY_PLACEHOLDER, ", ".join(codes) if codes else NO_DEPENDENCIES
    )


def _serialise_dependency_writers() -> None:
    # Two concurrent additions can each pass the cycle check and close a cycle together, so
    # writers queue on the table. SQLite's IMMEDIATE transactions already serialise all writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Dependency._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def dependency_add(*, finding: Finding, depends_on: Finding, context: ActionContext) -> Dependency:
    """Record that `finding` depends on `depends_on`, under the rules of dependency_problems.

    Both findings' phases are locked, so neither can move to another phase meanwhile, and both
    are read again under those locks. Raises ValidationError or PermissionDenied.
    """
    permission = permission_used(context, "findings.add_dependency")
    phase_ids = [finding.phase_id, depends_on.phase_id]
    # The dependency's phase is locked only so that it cannot move; its content is unchanged,
    # so only the finding's own phase is revalidated.
    with phase_change(phase_ids=phase_ids, context=context, revalidate=False):
        _serialise_dependency_writers()
        if finding.pk == depends_on.pk:
            raise ValidationError("A finding cannot depend on itself.")
        current = Finding.objects.select_related("phase").in_bulk([finding.pk, depends_on.pk])
        problems = dependency_problems(
            finding=current[finding.pk], depends_on=current[depends_on.pk]
        )
        if problems:
            raise ValidationError(problems)
        if Dependency.objects.filter(finding=finding, depends_on=depends_on).exists():
            raise ValidationError(f"{finding.code} already depends on {depends_on.code}.")
        cycle = Dependency.objects.cycle_through(finding_id=finding.pk, depends_on_id=depends_on.pk)
        if cycle:
            raise ValidationError(cycle_message(cycle))
        dependency = Dependency.objects.create(finding=finding, depends_on=depends_on)
        audit_record(
            context=context,
            action="dependency.added",
            obj=dependency,
            permission=permission,
            after={"finding": finding.code, "depends_on": depends_on.code},
            finding=finding,
        )
        _rewrite_dependency_item(finding=finding, context=context, permission=permission)
        signoffs_revalidate(phase_ids=[finding.phase_id], context=context)
    return dependency


def dependency_remove(*, dependency: Dependency, context: ActionContext) -> None:
    permission = permission_used(context, "findings.delete_dependency")
    finding = dependency.finding
    with phase_change(phase_ids=[finding.phase_id], context=context):
        audit_record(
            context=context,
            action="dependency.removed",
            obj=dependency,
            permission=permission,
            before={"finding": finding.code, "depends_on": dependency.depends_on.code},
            finding=finding,
        )
        dependency.delete()
        _rewrite_dependency_item(finding=finding, context=context, permission=permission)


def _rewrite_dependency_item(*, finding: Finding, context: ActionContext, permission: str) -> None:
    """Name the finding's current dependencies in its standard integration item.

    A tick on that item verified the old list, so a changed list unticks it. The caller holds
    the protocol's locks, which every writer of the items takes, so they are read plainly.
    """
    codes = list(
        finding.dependency_links.order_by("depends_on__code").values_list(
            "depends_on__code", flat=True
        )
    )
    new_text = dependency_text(codes)
    for item in ChecklistItem.objects.filter(finding=finding, names_dependencies=True):
        if item.text == new_text:
            continue
        # A done finding keeps every item ticked; its dependencies change only once it is back
        # in review. The caller's transaction then rolls the whole change back.
        if item.checked and Finding.objects.filter(pk=finding.pk, status=Status.DONE).exists():
            raise ValidationError(done_stays_ticked_message(finding.code))
        before = {"text": item.text, "checked": item.checked}
        item.text = new_text
        item.checked, item.checked_by, item.checked_at = False, None, None
        item.version += 1
        item.save(update_fields=["text", "checked", "checked_by", "checked_at", "version"])
        audit_record(
            context=context,
            action="checklist_item.dependencies_changed",
            obj=item,
            permission=permission,
            before=before,
            after={"text": item.text, "checked": item.checked},
            finding=finding,
        )
