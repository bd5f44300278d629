from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from findings.models import ChecklistItem
from findings.services.audit import ActionContext, audit_record, permission_used

EDITABLE_ITEM_FIELDS = ["section", "text", "position"]


def checklist_item_save(*, item: ChecklistItem, context: ActionContext) -> ChecklistItem:
    """Create an item or save an admin's edit of its wording, section or position."""
    adding = item._state.adding
    permission = permission_used(
        context, "findings.add_checklistitem" if adding else "findings.change_checklistitem"
    )
    item.full_clean(exclude=["finding"])
    with transaction.atomic():
        before = None
        if not adding:
            stored = ChecklistItem.objects.select_for_update().get(pk=item.pk)
            before = {name: getattr(stored, name) for name in EDITABLE_ITEM_FIELDS}
            item.version = F("version") + 1
        try:
            with transaction.atomic():
                item.save()
        except IntegrityError as error:
            raise ValidationError(
                f"{item.finding.code} already has an item at position {item.position}."
            ) from error
        item.refresh_from_db(fields=["version"])
        after = {name: getattr(item, name) for name in EDITABLE_ITEM_FIELDS}
        if before != after:
            audit_record(
                context=context,
                action="checklist_item.created" if adding else "checklist_item.edited",
                obj=item,
                permission=permission,
                before=before,
                after=after,
                finding=item.finding,
            )
    return item


def checklist_item_delete(*, item: ChecklistItem, context: ActionContext) -> None:
    permission = permission_used(context, "findings.delete_checklistitem")
    with transaction.atomic():
        audit_record(
            context=context,
            action="checklist_item.deleted",
            obj=item,
            permission=permission,
            before={
                "section": item.section,
                "text": item.text,
                "position": item.position,
                "checked": item.checked,
            },
            finding=item.finding,
        )
        item.delete()
