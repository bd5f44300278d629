"""finding_status_set: the finding lifecycle, its guards, and the admin path that shares them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from findings.models import AuditEvent, Finding, Status
from findings.services.dependencies import dependency_add
from findings.services.errors import PhaseLocked, Refused, StaleVersion
from findings.services.findings import finding_update
from findings.services.status import finding_status_set
from tests.helpers import context_for

PERMISSION = "findings.change_finding_status"
LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def events_since(last_id: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=last_id).order_by("id"))


def stored(finding: Finding) -> tuple[str, int]:
    return Finding.objects.values_list("status", "version").get(pk=finding.pk)


def put(finding: Finding, status: str) -> None:
    """Set up a status without the service, leaving the version at 1."""
    Finding.objects.filter(pk=finding.pk).update(status=status)


def tick_all(finding: Finding) -> None:
    # Set-up only: the ticking service has its own tests.
    finding.checklist_items.update(checked=True, checked_at=timezone.now())


@pytest.fixture
def si001(catalogue) -> Finding:
    # Phase 2A is never locked; its findings depend only on findings completed before the plan.
    return Finding.objects.get(code="SI-001")


@pytest.fixture
def si002(catalogue) -> Finding:
    return Finding.objects.get(code="SI-002")


@pytest.fixture
def move(reviewer):
    """Move a finding through `targets` one step at a time, each with the version it has."""

    def move(finding: Finding, *targets: str) -> Finding:
        for target in targets:
            finding = finding_status_set(
                finding_id=finding.pk,
                target=target,
                expected_version=stored(finding)[1],
                context=context_for(reviewer),
            )
        return finding

    return move


def test_it_starts_work_on_a_planned_finding(si001, reviewer):
    returned = finding_status_set(
        finding_id=si001.pk,
        target=Status.IN_PROGRESS,
        expected_version=1,
        context=context_for(reviewer),
    )

    assert stored(si001) == (Status.IN_PROGRESS, 2)
    assert (returned.pk, returned.status, returned.version) == (si001.pk, Status.IN_PROGRESS, 2)


def test_it_records_exactly_one_audit_event_for_a_status_change(si001, reviewer):
    before = last_event_id()

    finding_status_set(
        finding_id=si001.pk,
        target=Status.IN_PROGRESS,
        expected_version=1,
        context=context_for(reviewer),
    )

    [event] = events_since(before)
    assert event.action == "finding.status_changed"
    assert (event.actor, event.actor_username, event.permission) == (
        reviewer,
        "reviewer",
        PERMISSION,
    )
    assert (event.request_id, event.ip_address, event.user_agent) == ("r1", "127.0.0.1", "pytest")
    assert (event.object_type, event.object_id, event.finding_id) == (
        "finding",
        str(si001.pk),
        si001.pk,
    )
    assert event.before == {"status": "planned", "version": 1}
    assert event.after == {"status": "in_progress", "version": 2}


def test_it_takes_a_finding_through_its_whole_lifecycle_one_event_per_step(si001, move):
    tick_all(si001)
    before = last_event_id()

    move(si001, Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE)

    assert stored(si001) == (Status.DONE, 4)
    assert [(e.action, e.before, e.after) for e in events_since(before)] == [
        (
            "finding.status_changed",
            {"status": "planned", "version": 1},
            {"status": "in_progress", "version": 2},
        ),
        (
            "finding.status_changed",
            {"status": "in_progress", "version": 2},
            {"status": "in_review", "version": 3},
        ),
        (
            "finding.status_changed",
            {"status": "in_review", "version": 3},
            {"status": "done", "version": 4},
        ),
    ]


@pytest.mark.parametrize(
    ("steps", "back_to"),
    [
        ([Status.IN_PROGRESS], Status.PLANNED),
        ([Status.IN_PROGRESS, Status.IN_REVIEW], Status.IN_PROGRESS),
        ([Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE], Status.IN_REVIEW),
    ],
)
def test_it_moves_a_finding_back_one_step(si001, move, steps, back_to):
    tick_all(si001)
    move(si001, *steps)
    before = last_event_id()

    move(si001, back_to)

    assert stored(si001) == (back_to, len(steps) + 2)
    [event] = events_since(before)
    assert event.after == {"status": back_to, "version": len(steps) + 2}


@pytest.mark.parametrize(
    ("current", "target", "blocker"),
    [
        (Status.PLANNED, Status.DONE, "SI-001 is planned; it can move to in progress."),
        (Status.PLANNED, Status.IN_REVIEW, "SI-001 is planned; it can move to in progress."),
        (
            Status.IN_PROGRESS,
            Status.DONE,
            "SI-001 is in progress; it can move to in review, planned.",
        ),
        (
            Status.IN_REVIEW,
            Status.PLANNED,
            "SI-001 is in review; it can move to done, in progress.",
        ),
        (Status.DONE, Status.IN_PROGRESS, "SI-001 is done; it can move to in review."),
        (Status.DONE, Status.PLANNED, "SI-001 is done; it can move to in review."),
        (Status.PLANNED, Status.COMPLETED, "SI-001 is planned; it can move to in progress."),
    ],
)
def test_it_refuses_a_jump_saying_where_the_finding_can_go(
    si001, reviewer, current, target, blocker
):
    tick_all(si001)
    put(si001, current)
    before = last_event_id()

    with pytest.raises(Refused) as raised:
        finding_status_set(
            finding_id=si001.pk, target=target, expected_version=1, context=context_for(reviewer)
        )

    assert not isinstance(raised.value, PhaseLocked)
    assert raised.value.message == f"SI-001 cannot move to {Status(target).label.lower()}."
    assert raised.value.blockers == [blocker]
    assert stored(si001) == (current, 1)
    assert events_since(before) == []


@pytest.mark.parametrize("target", [Status.PLANNED, Status.IN_PROGRESS, Status.DONE])
def test_it_refuses_to_move_a_finding_completed_before_the_plan(catalogue, reviewer, target):
    completed = Finding.objects.get(code="BF-001")
    before = last_event_id()

    with pytest.raises(Refused) as raised:
        finding_status_set(
            finding_id=completed.pk,
            target=target,
            expected_version=1,
            context=context_for(reviewer),
        )

    assert raised.value.blockers == [
        "BF-001 is completed before this plan; it can move to nothing."
    ]
    assert stored(completed) == (Status.COMPLETED, 1)
    assert events_since(before) == []


def test_it_refuses_a_status_the_lifecycle_does_not_know_as_a_refusal(si001, reviewer):
    # A caller passing anything else (a form, a command, an API) gets the domain's refusal.
    with pytest.raises(Refused) as raised:
        finding_status_set(
            finding_id=si001.pk,
            target="archived",
            expected_version=1,
            context=context_for(reviewer),
        )

    [blocker] = raised.value.blockers
    assert "archived" in blocker
    assert stored(si001) == (Status.PLANNED, 1)
    assert not AuditEvent.objects.filter(action="finding.status_changed").exists()


@pytest.mark.parametrize(
    ("dependency_status", "blocker"),
    [
        (Status.PLANNED, "SI-002 is planned, not done."),
        (Status.IN_PROGRESS, "SI-002 is in progress, not done."),
        (Status.IN_REVIEW, "SI-002 is in review, not done."),
    ],
)
def test_it_refuses_to_start_work_while_a_dependency_is_unfinished(
    si001, si002, reviewer, system_context, dependency_status, blocker
):
    dependency_add(finding=si001, depends_on=si002, context=system_context)
    put(si002, dependency_status)
    before = last_event_id()

    with pytest.raises(Refused) as raised:
        finding_status_set(
            finding_id=si001.pk,
            target=Status.IN_PROGRESS,
            expected_version=1,
            context=context_for(reviewer),
        )

    assert raised.value.message == "SI-001 cannot move to in progress."
    assert raised.value.blockers == [blocker]
    assert stored(si001) == (Status.PLANNED, 1)
    assert events_since(before) == []


def test_it_starts_work_once_the_dependency_is_done(si001, si002, move, system_context):
    dependency_add(finding=si001, depends_on=si002, context=system_context)
    tick_all(si002)
    move(si002, Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE)

    move(si001, Status.IN_PROGRESS)

    assert stored(si001) == (Status.IN_PROGRESS, 2)


def test_it_refuses_done_until_every_item_is_ticked_naming_the_unticked_ones(si001, move, reviewer):
    move(si001, Status.IN_PROGRESS, Status.IN_REVIEW)
    items = list(si001.checklist_items.order_by("position"))
    left = [items[2], items[6]]
    si001.checklist_items.exclude(pk__in=[item.pk for item in left]).update(
        checked=True, checked_at=timezone.now()
    )
    before = last_event_id()

    with pytest.raises(Refused) as raised:
        finding_status_set(
            finding_id=si001.pk,
            target=Status.DONE,
            expected_version=3,
            context=context_for(reviewer),
        )

    assert raised.value.message == "SI-001 cannot move to done."
    assert raised.value.blockers == [f"“{item.text}” is not ticked." for item in left]
    assert stored(si001) == (Status.IN_REVIEW, 3)
    assert events_since(before) == []

    tick_all(si001)
    move(si001, Status.DONE)
    assert stored(si001) == (Status.DONE, 4)


def test_it_refuses_done_while_a_dependency_added_during_the_work_is_unfinished(
    si001, si002, move, reviewer, system_context
):
    move(si001, Status.IN_PROGRESS, Status.IN_REVIEW)
    dependency_add(finding=si001, depends_on=si002, context=system_context)
    tick_all(si001)

    with pytest.raises(Refused) as raised:
        finding_status_set(
            finding_id=si001.pk,
            target=Status.DONE,
            expected_version=3,
            context=context_for(reviewer),
        )

    assert raised.value.blockers == ["SI-002 is planned, not done."]
    assert stored(si001) == (Status.IN_REVIEW, 3)


def test_it_lets_a_finding_step_back_while_a_dependency_is_unfinished(
    si001, si002, move, system_context
):
    move(si001, Status.IN_PROGRESS, Status.IN_REVIEW)
    dependency_add(finding=si001, depends_on=si002, context=system_context)

    move(si001, Status.IN_PROGRESS)

    assert stored(si001) == (Status.IN_PROGRESS, 4)


def test_it_refuses_a_finding_in_a_locked_phase(catalogue, reviewer):
    locked = Finding.objects.get(code="BL-006")
    before = last_event_id()

    with pytest.raises(PhaseLocked) as raised:
        finding_status_set(
            finding_id=locked.pk,
            target=Status.IN_PROGRESS,
            expected_version=1,
            context=context_for(reviewer),
        )

    assert "phase 2A" in raised.value.message
    assert raised.value.blockers == [LOCKED_BY_2A]
    assert stored(locked) == (Status.PLANNED, 1)
    assert events_since(before) == []


def test_it_refuses_a_stale_version_returning_the_finding_as_stored(si001, move, lead):
    move(si001, Status.IN_PROGRESS)
    before = last_event_id()

    # The lead's page still shows the planned finding at version 1.
    with pytest.raises(StaleVersion) as raised:
        finding_status_set(
            finding_id=si001.pk,
            target=Status.PLANNED,
            expected_version=1,
            context=context_for(lead),
        )

    assert "SI-001" in raised.value.message
    assert "in progress" in raised.value.message
    current = raised.value.current
    assert (current.pk, current.status, current.version) == (si001.pk, Status.IN_PROGRESS, 2)
    assert stored(si001) == (Status.IN_PROGRESS, 2)
    assert events_since(before) == []


def test_it_treats_asking_for_the_status_the_finding_has_as_done_even_when_stale(si001, move, lead):
    move(si001, Status.IN_PROGRESS)
    before = last_event_id()

    returned = finding_status_set(
        finding_id=si001.pk,
        target=Status.IN_PROGRESS,
        expected_version=1,
        context=context_for(lead),
    )

    assert (returned.status, returned.version) == (Status.IN_PROGRESS, 2)
    assert stored(si001) == (Status.IN_PROGRESS, 2)
    assert events_since(before) == []


@pytest.mark.parametrize("persona", ["reviewer", "lead", "admin_user"])
def test_it_lets_every_role_with_the_status_permission_move_a_finding(si001, persona, request):
    user = request.getfixturevalue(persona)

    finding_status_set(
        finding_id=si001.pk,
        target=Status.IN_PROGRESS,
        expected_version=1,
        context=context_for(user),
    )

    assert stored(si001) == (Status.IN_PROGRESS, 2)
    assert AuditEvent.objects.get(action="finding.status_changed").actor == user


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
def test_it_refuses_a_user_without_the_status_permission(si001, persona, request):
    user = request.getfixturevalue(persona)
    before = last_event_id()

    with pytest.raises(PermissionDenied) as raised:
        finding_status_set(
            finding_id=si001.pk,
            target=Status.IN_PROGRESS,
            expected_version=1,
            context=context_for(user),
        )

    assert PERMISSION in str(raised.value)
    assert stored(si001) == (Status.PLANNED, 1)
    assert events_since(before) == []


def test_it_raises_finding_does_not_exist_for_an_unknown_finding(si001, reviewer):
    with pytest.raises(Finding.DoesNotExist):
        finding_status_set(
            finding_id=si001.pk + 10_000,
            target=Status.IN_PROGRESS,
            expected_version=1,
            context=context_for(reviewer),
        )


def test_the_admin_path_refuses_a_status_jump_on_the_status_field(si001, admin_user):
    tick_all(si001)
    before = last_event_id()
    si001.status = Status.DONE

    with pytest.raises(ValidationError) as raised:
        finding_update(finding=si001, context=context_for(admin_user))

    assert raised.value.message_dict == {
        "status": ["SI-001 is planned; it can move to in progress."]
    }
    assert stored(si001) == (Status.PLANNED, 1)
    assert events_since(before) == []


def test_the_admin_path_refuses_starting_work_while_a_dependency_is_unfinished(
    si001, si002, admin_user, system_context
):
    dependency_add(finding=si001, depends_on=si002, context=system_context)
    si001.status = Status.IN_PROGRESS

    with pytest.raises(ValidationError) as raised:
        finding_update(finding=si001, context=context_for(admin_user))

    assert raised.value.message_dict == {"status": ["SI-002 is planned, not done."]}
    assert stored(si001) == (Status.PLANNED, 1)


def test_the_admin_path_refuses_a_status_change_in_a_locked_phase(catalogue, admin_user):
    locked = Finding.objects.get(code="BL-006")
    locked.status = Status.IN_PROGRESS

    with pytest.raises(ValidationError) as raised:
        finding_update(finding=locked, context=context_for(admin_user))

    assert raised.value.message_dict == {"status": [f"BL-006 cannot be changed. {LOCKED_BY_2A}"]}
    assert stored(locked) == (Status.PLANNED, 1)


def test_the_admin_path_allows_a_step_the_lifecycle_allows(si001, admin_user):
    si001.status = Status.IN_PROGRESS

    finding_update(finding=si001, context=context_for(admin_user))

    assert stored(si001) == (Status.IN_PROGRESS, 2)
    event = AuditEvent.objects.get(action="finding.updated", finding=si001)
    assert (event.before, event.after) == ({"status": "planned"}, {"status": "in_progress"})
