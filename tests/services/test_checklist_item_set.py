"""checklist_item_set: ticking and unticking one item with optimistic locking and an audit trail.

Phase locks are covered in tests/services/test_phase_locks.py and real concurrent calls in
tests/concurrency/test_concurrent_ticks.py; here every call comes from the test's own thread.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from findings.models import AuditEvent, ChecklistItem, Finding
from findings.services.checklist import checklist_item_set
from findings.services.dependencies import dependency_add
from findings.services.errors import StaleVersion
from tests.helpers import context_for

PERMISSION = "findings.tick_checklistitem"


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def events_since(last_id: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=last_id).order_by("id"))


def stored_state(item: ChecklistItem) -> tuple:
    return ChecklistItem.objects.values_list("checked", "checked_by", "checked_at", "version").get(
        pk=item.pk
    )


@pytest.fixture
def finding(catalogue) -> Finding:
    # A phase 2A finding: 2A is the first phase, so its items are never locked.
    return Finding.objects.get(code="SI-001")


@pytest.fixture
def item(finding) -> ChecklistItem:
    return finding.checklist_items.get(position=1)


def test_it_ticks_an_item_for_a_reviewer(item, reviewer):
    started = timezone.now()

    returned = checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )

    stored = ChecklistItem.objects.get(pk=item.pk)
    assert (stored.checked, stored.checked_by, stored.version) == (True, reviewer, 2)
    assert started <= stored.checked_at <= timezone.now()
    assert (returned.pk, returned.checked, returned.checked_by, returned.version) == (
        item.pk,
        True,
        reviewer,
        2,
    )
    assert returned.checked_at == stored.checked_at


def test_it_records_exactly_one_audit_event_for_a_tick(item, reviewer):
    before = last_event_id()

    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )

    events = events_since(before)
    assert len(events) == 1
    event = events[0]
    assert event.action == "checklist_item.ticked"
    assert (event.actor, event.actor_username) == (reviewer, "reviewer")
    assert event.permission == PERMISSION
    assert (event.request_id, event.ip_address, event.user_agent) == ("r1", "127.0.0.1", "pytest")
    assert (event.object_type, event.object_id) == ("checklistitem", str(item.pk))
    assert event.finding_id == item.finding_id
    assert event.before == {"checked": False, "version": 1}
    assert event.after == {"checked": True, "version": 2}


def test_it_unticks_a_ticked_item_forgetting_who_ticked_it(item, reviewer, lead):
    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )
    before = last_event_id()

    returned = checklist_item_set(
        item_id=item.pk, checked=False, expected_version=2, context=context_for(lead, "r2")
    )

    assert stored_state(item) == (False, None, None, 3)
    assert (returned.checked, returned.checked_by, returned.checked_at, returned.version) == (
        False,
        None,
        None,
        3,
    )
    [event] = events_since(before)
    assert (event.action, event.actor, event.request_id) == ("checklist_item.unticked", lead, "r2")
    assert event.before == {"checked": True, "version": 2}
    assert event.after == {"checked": False, "version": 3}


@pytest.mark.parametrize("persona", ["reviewer", "lead", "admin_user"])
def test_it_lets_every_role_with_the_tick_permission_tick(item, persona, request):
    user = request.getfixturevalue(persona)

    checklist_item_set(item_id=item.pk, checked=True, expected_version=1, context=context_for(user))

    assert stored_state(item)[:2] == (True, user.pk)
    assert AuditEvent.objects.get(action="checklist_item.ticked").actor == user


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
def test_it_refuses_a_user_without_the_tick_permission(item, persona, request):
    user = request.getfixturevalue(persona)
    before = last_event_id()

    with pytest.raises(PermissionDenied) as raised:
        checklist_item_set(
            item_id=item.pk, checked=True, expected_version=1, context=context_for(user)
        )

    assert PERMISSION in str(raised.value)
    assert stored_state(item) == (False, None, None, 1)
    assert events_since(before) == []


def test_it_refuses_a_reviewer_whose_account_was_deactivated(item, reviewer):
    reviewer.is_active = False
    reviewer.save()

    with pytest.raises(PermissionDenied):
        checklist_item_set(
            item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
        )

    assert stored_state(item) == (False, None, None, 1)


def test_it_raises_checklist_item_does_not_exist_for_an_unknown_item(item, reviewer):
    # The docstring promises ChecklistItem.DoesNotExist, which a view turns into a 404.
    with pytest.raises(ChecklistItem.DoesNotExist):
        checklist_item_set(
            item_id=item.pk + 10_000,
            checked=True,
            expected_version=1,
            context=context_for(reviewer),
        )


def test_it_treats_a_repeated_tick_as_done_without_a_change(item, reviewer):
    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )
    state = stored_state(item)
    before = last_event_id()

    returned = checklist_item_set(
        item_id=item.pk, checked=True, expected_version=2, context=context_for(reviewer)
    )

    assert stored_state(item) == state
    assert (returned.checked, returned.version) == (True, 2)
    assert events_since(before) == []


def test_it_treats_a_double_click_with_the_old_version_as_done_without_a_change(
    item, reviewer, lead
):
    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )
    state = stored_state(item)
    before = last_event_id()

    # The lead's page still shows version 1, but asks for the state the item already has.
    returned = checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(lead)
    )

    assert stored_state(item) == state
    assert (returned.checked, returned.checked_by, returned.version) == (True, reviewer, 2)
    assert events_since(before) == []


def test_it_treats_unticking_an_unticked_item_with_a_stale_version_as_a_no_op(item, reviewer):
    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )
    checklist_item_set(
        item_id=item.pk, checked=False, expected_version=2, context=context_for(reviewer)
    )
    before = last_event_id()

    returned = checklist_item_set(
        item_id=item.pk, checked=False, expected_version=1, context=context_for(reviewer)
    )

    assert stored_state(item) == (False, None, None, 3)
    assert returned.version == 3
    assert events_since(before) == []


def test_it_refuses_a_stale_change_naming_who_changed_the_item_and_when(item, reviewer, lead):
    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )
    tick = AuditEvent.objects.get(action="checklist_item.ticked")
    state = stored_state(item)
    before = last_event_id()

    # The lead's page loaded before the reviewer's tick and asks to leave the item unticked.
    with pytest.raises(StaleVersion) as raised:
        checklist_item_set(
            item_id=item.pk, checked=False, expected_version=1, context=context_for(lead)
        )

    when = timezone.localtime(tick.created_at)
    message = raised.value.message
    assert message.startswith("reviewer ticked this item at ")
    assert f"{when:%Y-%m-%d %H:%M:%S}" in message
    assert "not applied" in message
    assert str(raised.value) == message
    current = raised.value.current
    assert isinstance(current, ChecklistItem)
    assert (current.pk, current.checked, current.checked_by, current.version) == (
        item.pk,
        True,
        reviewer,
        2,
    )
    assert stored_state(item) == state
    assert events_since(before) == []


def test_it_names_the_latest_change_when_several_happened_since_the_page_loaded(
    item, reviewer, lead
):
    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )
    checklist_item_set(
        item_id=item.pk, checked=False, expected_version=2, context=context_for(lead)
    )

    # A page that loaded at version 2 asks for the tick the lead has since taken away.
    with pytest.raises(StaleVersion) as raised:
        checklist_item_set(
            item_id=item.pk, checked=True, expected_version=2, context=context_for(reviewer)
        )

    assert raised.value.message.startswith("lead unticked this item at ")
    assert raised.value.current.version == 3


def test_it_says_a_command_changed_the_item_when_the_last_change_had_no_user(
    finding, item, reviewer, system_context
):
    integration = finding.checklist_items.get(names_dependencies=True)
    checklist_item_set(
        item_id=integration.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )
    # A new dependency rewrites the item's text and unticks it, as a management command.
    dependency_add(
        finding=finding, depends_on=Finding.objects.get(code="SI-002"), context=system_context
    )

    with pytest.raises(StaleVersion) as raised:
        checklist_item_set(
            item_id=integration.pk, checked=True, expected_version=2, context=context_for(reviewer)
        )

    assert raised.value.message.startswith("an administrator's command ")
    assert raised.value.current.version == 3
    assert raised.value.current.checked is False


def test_it_refuses_a_version_the_item_never_had_without_naming_anyone(item, reviewer):
    with pytest.raises(StaleVersion) as raised:
        checklist_item_set(
            item_id=item.pk, checked=True, expected_version=7, context=context_for(reviewer)
        )

    assert raised.value.message == (
        "This item changed after your page loaded. Your change was not applied."
    )
    assert stored_state(item) == (False, None, None, 1)


def test_it_changes_only_the_item_asked_for(finding, item, reviewer):
    others = list(finding.checklist_items.exclude(pk=item.pk).values_list("checked", "version"))

    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=1, context=context_for(reviewer)
    )

    assert (
        list(finding.checklist_items.exclude(pk=item.pk).values_list("checked", "version"))
        == others
    )
    assert others and all(state == (False, 1) for state in others)
