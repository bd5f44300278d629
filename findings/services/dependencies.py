from django.core.exceptions import ValidationError
from django.db import connection

from findings.models import ChecklistItem, Dependency, Finding, cycle_message
from findings.seed import DEPENDENCY_PLACEHOLDER, STANDARD_CHECKLIST
from findings.services.audit import ActionContext, audit_record, permission_used
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
    permission = permission_used(context, "findings.add_dependency")
    with phase_change(phase_ids=[finding.phase_id], context=context):
        _serialise_dependency_writers()
        if finding.pk == depends_on.pk:
            raise ValidationError("A finding cannot depend on itself.")
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
