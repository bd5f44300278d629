from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from findings.audit_chain import chain_head_lock
from findings.gates import phase_lock_for_item
from findings.models import ChecklistItem, Signoff
from findings.services.audit import (
    ActionContext,
    audit_record,
    change_author,
    last_change_of,
    permission_used,
)
from findings.services.errors import PhaseLocked, StaleVersion
from findings.services.signoffs import phases_lock, signoffs_revalidate

EDITABLE_ITEM_FIELDS = ["section", "text", "position"]
# A tick verified these; an item whose finding, wording or section changes must be verified again.
TICK_VOIDING_FIELDS = ["finding_id", "section", "text"]
# How a stale-tick message names the change that came first.
ITEM_CHANGE_PHRASES = {
    "checklist_item.ticked": "ticked",
    "checklist_item.unticked": "unticked",
    "checklist_item.edited": "edited",
    "checklist_item.moved": "moved to another finding",
    "checklist_item.created": "created",
    "checklist_item.dependencies_changed": "reworded for new dependencies, and unticked,",
}


def checklist_item_save(*, item: ChecklistItem, context: ActionContext) -> ChecklistItem:
    """Create an item or save an admin's edit of its finding, wording, section or position.

    An item that changes finding, wording or section loses its tick, since the tick verified the
    item as it was; a new item starts unticked, and the tick of an item edited otherwise is kept
    as stored, whatever `item` holds. A move between findings changes two phases' content, so it
    takes both phases' locks and revalidates both phases' signoffs.
    """
    adding = item._state.adding
    permission = permission_used(
        context, "findings.add_checklistitem" if adding else "findings.change_checklistitem"
    )
    item.full_clean(exclude=["finding"])
    with transaction.atomic():
        stored = None
        if not adding:
            stored = ChecklistItem.objects.select_related("finding").get(pk=item.pk)
        phase_ids = [item.finding.phase_id, stored.finding.phase_id if stored else None]
        phases_lock(phase_ids)
        if stored is not None:
            # Read again under the locks: a tick may have landed while they were awaited.
            stored = (
                ChecklistItem.objects.select_for_update(of=("self",))
                .select_related("finding")
                .get(pk=item.pk)
            )
            item.version = F("version") + 1
        before = _item_state(stored) if stored else None
        if stored is None or any(
            getattr(stored, name) != getattr(item, name) for name in TICK_VOIDING_FIELDS
        ):
            item.checked, item.checked_by, item.checked_at = False, None, None
        else:
            item.checked, item.checked_by_id = stored.checked, stored.checked_by_id
            item.checked_at = stored.checked_at
        try:
            with transaction.atomic():
                item.save()
        except IntegrityError as error:
            raise ValidationError(
                f"{item.finding.code} already has an item at position {item.position}."
            ) from error
        item.refresh_from_db(fields=["version"])
        after = _item_state(item)
        if before != after:
            moved = stored is not None and stored.finding_id != item.finding_id
            audit_record(
                context=context,
                action=_save_action(adding=adding, moved=moved),
                obj=item,
                permission=permission,
                before=before,
                after=after,
                finding=item.finding,
            )
            signoffs_revalidate(phase_ids=phase_ids, context=context)
    return item


def _item_state(item: ChecklistItem) -> dict:
    """What the audit trail records of an item's edit: its finding's code, its fields, its tick."""
    return {
        "finding": item.finding.code,
        **{name: getattr(item, name) for name in EDITABLE_ITEM_FIELDS},
        "checked": item.checked,
    }


def _save_action(*, adding: bool, moved: bool) -> str:
    if adding:
        return "checklist_item.created"
    return "checklist_item.moved" if moved else "checklist_item.edited"


def checklist_item_delete(*, item: ChecklistItem, context: ActionContext) -> None:
    permission = permission_used(context, "findings.delete_checklistitem")
    with transaction.atomic():
        phases_lock([item.finding.phase_id])
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
        signoffs_revalidate(phase_ids=[item.finding.phase_id], context=context)


def checklist_item_set(
    *, item_id: int, checked: bool, expected_version: int, context: ActionContext
) -> ChecklistItem:
    """Set an item to the state the reviewer asked for, if nobody changed it since they saw it.

    The request carries the desired state, never "toggle", so a retried or doubled click that
    asks for the state the item already has succeeds without a change.
    Raises PermissionDenied, ChecklistItem.DoesNotExist, PhaseLocked or StaleVersion.
    """
    permission = permission_used(context, "findings.tick_checklistitem")
    with transaction.atomic():
        item = _locked_item(item_id)
        chain_head_lock()
        if item.checked == checked:
            return item
        if item.version != expected_version:
            raise StaleVersion(_changed_since_message(item), current=item)
        before = {"checked": item.checked, "version": item.version}
        item.checked = checked
        item.checked_by = context.actor if checked else None
        item.checked_at = timezone.now() if checked else None
        item.version += 1
        item.save(update_fields=["checked", "checked_by", "checked_at", "version"])
        audit_record(
            context=context,
            action="checklist_item.ticked" if checked else "checklist_item.unticked",
            obj=item,
            permission=permission,
            before=before,
            after={"checked": item.checked, "version": item.version},
            finding=item.finding,
        )
        if item.signoff_stands:
            signoffs_revalidate(phase_ids=[item.finding.phase_id], context=context)
    return item


def _locked_item(item_id: int) -> ChecklistItem:
    """The item, read after locking its phase's row, as every change of a phase's content does.

    Every writer of a phase's items holds that lock, so the item cannot change under us. Should
    an admin move the finding to another phase between the lock and the read, the lock is taken
    again for the new one; a finding outside every phase has no lock to take. The item comes
    with `signoff_stands`: whether its phase has an active signoff for the change to revalidate.
    Raises ChecklistItem.DoesNotExist or PhaseLocked.
    """
    while True:
        lock = phase_lock_for_item(item_id)
        # Read in a statement of its own after the lock, so it sees a signoff that committed while
        # the lock was awaited; signing needs the lock, so none can appear from now on.
        item = (
            ChecklistItem.objects.select_related("finding__phase", "checked_by")
            .annotate(
                signoff_stands=Exists(
                    Signoff.objects.active().filter(phase=OuterRef("finding__phase"))
                )
            )
            .get(pk=item_id)
        )
        if item.finding.phase_id == (lock.phase_id if lock is not None else None):
            break
    if lock is not None and lock.reason:
        code = item.finding.code
        raise PhaseLocked(f"{code} cannot be changed. {lock.reason}", [lock.reason])
    return item


def _changed_since_message(item: ChecklistItem) -> str:
    last_change = last_change_of(item)
    if last_change is None:
        return "This item changed after your page loaded. Your change was not applied."
    who = change_author(last_change)
    what = ITEM_CHANGE_PHRASES.get(last_change.action, "changed")
    when = timezone.localtime(last_change.created_at)
    return (
        f"{who} {what} this item at {when:%Y-%m-%d %H:%M:%S %Z}, after your page loaded. "
        "Your change was not applied; this is the item as it is now."
    )
