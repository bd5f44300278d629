from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from findings.item_keys import item_key_for
from findings.models import ChecklistItem, Finding, Signoff, Status, validate_single_line
from findings.services.audit import (
    ActionContext,
    audit_record,
    change_author,
    last_change_of,
    permission_used,
)
from findings.services.errors import PhaseLocked, Refused, StaleVersion
from findings.services.protocol import item_phase_change, phase_change

EDITABLE_ITEM_FIELDS = ["section", "text", "position"]
EVIDENCE_FIELDS = ["evidence_url", "evidence_commit", "evidence_summary"]
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
    item as it was, and with it the evidence reported for that tick; a new item starts unticked,
    and the tick and evidence of an item edited otherwise are kept as stored, whatever `item`
    holds. A move between findings changes two phases' content, so it
    takes both phases' locks and revalidates both phases' signoffs. A done finding's checklist
    stays ticked: a save that would leave it an unticked item is refused (ValidationError).
    """
    adding = item._state.adding
    permission = permission_used(
        context, "findings.add_checklistitem" if adding else "findings.change_checklistitem"
    )
    # The key is given under the locks below, from the keys the finding's items hold then.
    item.full_clean(exclude=["finding", "key"])
    stored = None
    if not adding:
        stored = ChecklistItem.objects.select_related("finding").get(pk=item.pk)
    phase_ids = [item.finding.phase_id, stored.finding.phase_id if stored else None]
    with phase_change(phase_ids=phase_ids, context=context) as change:
        if stored is not None:
            # Read again under the locks: a tick may have landed while they were awaited.
            stored = ChecklistItem.objects.select_related("finding").get(pk=item.pk)
            item.version = F("version") + 1
        before = _item_state(stored) if stored else None
        if stored is None or any(
            getattr(stored, name) != getattr(item, name) for name in TICK_VOIDING_FIELDS
        ):
            item.checked, item.checked_by, item.checked_at = False, None, None
            # The evidence proved the item as it was, like the tick it came with.
            for name, value in NO_EVIDENCE.as_fields().items():
                setattr(item, name, value)
        else:
            item.checked, item.checked_by_id = stored.checked, stored.checked_by_id
            item.checked_at = stored.checked_at
            for name in EVIDENCE_FIELDS:
                setattr(item, name, getattr(stored, name))
        item.key = _key_in_finding(item, stored=stored)
        if not item.checked:
            # Read under the phase's lock, which a move to done takes too.
            finding = Finding.objects.only("code", "status").get(pk=item.finding_id)
            if finding.status == Status.DONE:
                raise ValidationError(done_stays_ticked_message(finding.code))
        try:
            with transaction.atomic():
                item.save()
        except IntegrityError as error:
            raise ValidationError(
                f"{item.finding.code} already has an item at position {item.position}."
            ) from error
        item.refresh_from_db(fields=["version"])
        after = _item_state(item)
        if before == after:
            change.skip_revalidation()
        else:
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
    return item


def _key_in_finding(item: ChecklistItem, *, stored: ChecklistItem | None) -> str:
    """The item's key: kept through any edit, so scripts keep finding a reworded item; a new
    item, or a moved one whose key its new finding already uses, gets one from its text.
    """
    taken = set(
        ChecklistItem.objects.filter(finding_id=item.finding_id)
        .exclude(pk=item.pk)
        .values_list("key", flat=True)
    )
    if stored is not None and stored.key not in taken:
        return stored.key
    return item_key_for(text=item.text, names_dependencies=item.names_dependencies, taken=taken)


def done_stays_ticked_message(code: str) -> str:
    """Why a done finding's checklist cannot lose a tick, and the way forward."""
    return (
        f"{code} is done, so every item of its checklist stays ticked: "
        f"move {code} back to in review first."
    )


def checklist_frozen_reason(finding: Finding) -> str:
    """Why nobody may change the finding's ticks now, "" when they may: a done finding's items
    stay ticked (checklist_item_set refuses an untick), so its page offers no checkbox.
    """
    if finding.status != Status.DONE:
        return ""
    return f"{finding.code} is done: move it back to in review to change its checklist."


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
    with phase_change(phase_ids=[item.finding.phase_id], context=context):
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


@dataclass(frozen=True)
class Evidence:
    """What a pipeline reports with a tick or an untick: its run, the commit, a line of result."""

    url: str = ""
    commit: str = ""
    summary: str = ""

    def as_fields(self) -> dict[str, str]:
        return {f"evidence_{name}": value for name, value in asdict(self).items()}


NO_EVIDENCE = Evidence()


def evidence_problems(evidence: Evidence) -> list[str]:
    """Why the evidence cannot be stored, by the item's own field rules; empty when it can."""
    problems = []
    for field_name, value in evidence.as_fields().items():
        field = ChecklistItem._meta.get_field(field_name)
        try:
            field.clean(value, None)
            if field_name != "evidence_url":
                validate_single_line(value)
        except ValidationError as error:
            problems += [f"{field.verbose_name.capitalize()}: {text}" for text in error.messages]
    return problems


def checklist_item_set(
    *,
    item_id: int,
    checked: bool,
    expected_version: int | None,
    context: ActionContext,
    evidence: Evidence = NO_EVIDENCE,
) -> ChecklistItem:
    """Set an item to the state the reviewer asked for, if nobody changed it since they saw it.

    The request carries the desired state, never "toggle", so a retried or doubled click that
    asks for the state the item already has succeeds without a change. `expected_version` None
    sets the state whatever the item's version (a pipeline reporting its result). A change
    stores `evidence` on the item, replacing any earlier, and the audit event records it with
    the API token's name when a token made the change.
    A done finding's items stay ticked: unticking one is refused until the finding moves back.
    Raises PermissionDenied, ValidationError (bad evidence), ChecklistItem.DoesNotExist,
    PhaseLocked, Refused or StaleVersion.
    """
    permission = permission_used(context, "findings.tick_checklistitem")
    problems = evidence_problems(evidence)
    if problems:
        raise ValidationError(problems)
    with item_phase_change(item_id=item_id, items=_items_to_tick(), context=context) as change:
        item = change.item
        lock_reason = change.lock_reason(item.finding.phase_id)
        if lock_reason:
            raise PhaseLocked(
                f"{item.finding.code} cannot be changed. {lock_reason}", [lock_reason], current=item
            )
        if not item.signoff_stands or item.checked == checked:
            change.skip_revalidation()
        if item.checked == checked:
            return item
        if not checked and item.finding.status == Status.DONE:
            raise Refused(done_stays_ticked_message(item.finding.code), current=item)
        if expected_version is not None and item.version != expected_version:
            raise StaleVersion(_changed_since_message(item), current=item)
        before = {"checked": item.checked, "version": item.version, **_evidence_of(item)}
        item.checked = checked
        item.checked_by = context.actor if checked else None
        item.checked_at = timezone.now() if checked else None
        item.version += 1
        for name, value in evidence.as_fields().items():
            setattr(item, name, value)
        item.save(
            update_fields=["checked", "checked_by", "checked_at", "version", *EVIDENCE_FIELDS]
        )
        after = {"checked": item.checked, "version": item.version, **_evidence_of(item)}
        if context.token_name:
            after["token"] = context.token_name
        audit_record(
            context=context,
            action="checklist_item.ticked" if checked else "checklist_item.unticked",
            obj=item,
            permission=permission,
            before=before,
            after=after,
            finding=item.finding,
        )
    return item


def _evidence_of(item: ChecklistItem) -> dict[str, str]:
    """The item's evidence for its audit event, only the parts it has."""
    return {name: value for name in EVIDENCE_FIELDS if (value := getattr(item, name))}


def _items_to_tick():
    """Items with `signoff_stands`: whether a signoff of the phase stands, for revalidation.

    Read under the phase's lock, which signing needs too, so none can appear afterwards.
    """
    return ChecklistItem.objects.select_related("finding__phase", "checked_by").annotate(
        signoff_stands=Exists(Signoff.objects.active().filter(phase=OuterRef("finding__phase")))
    )


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
