import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from findings.models import AuditEvent, ChecklistItem, Dependency, Finding, Phase
from findings.services.audit import ActionContext
from findings.services.dependencies import dependency_add, dependency_remove
from findings.services.findings import finding_create


@pytest.fixture
def phase(db):
    return Phase.objects.create(
        code="2A", name="Foundation", priority_band="CRITICAL", folder_name="p2a", order=1
    )


@pytest.fixture
def a(phase, system_context):
    return finding_create(context=system_context, code="SI-001", title="A", phase=phase)


@pytest.fixture
def b(phase, system_context):
    return finding_create(context=system_context, code="SI-002", title="B", phase=phase)


@pytest.fixture
def c(phase, system_context):
    return finding_create(context=system_context, code="SI-003", title="C", phase=phase)


def integration_item(finding: Finding) -> ChecklistItem:
    return finding.checklist_items.get(names_dependencies=True)


def events_since(last_id: int) -> list[tuple[str, str]]:
    return list(
        AuditEvent.objects.filter(id__gt=last_id).order_by("id").values_list("action", "permission")
    )


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_it_adds_a_dependency(a, b, system_context):
    dependency = dependency_add(finding=a, depends_on=b, context=system_context)

    assert list(Dependency.objects.values_list("finding__code", "depends_on__code")) == [
        ("SI-001", "SI-002")
    ]
    assert str(dependency) == "SI-001 depends on SI-002"


def test_it_refuses_a_finding_depending_on_itself(a, system_context):
    before = last_event_id()

    with pytest.raises(ValidationError) as raised:
        dependency_add(finding=a, depends_on=a, context=system_context)

    assert raised.value.messages == ["A finding cannot depend on itself."]
    assert not Dependency.objects.exists()
    assert events_since(before) == []


def test_it_refuses_a_cycle_naming_it_in_order(a, b, c, system_context):
    dependency_add(finding=a, depends_on=b, context=system_context)
    dependency_add(finding=b, depends_on=c, context=system_context)
    before = last_event_id()

    with pytest.raises(ValidationError) as raised:
        dependency_add(finding=c, depends_on=a, context=system_context)

    assert raised.value.messages == [
        "This dependency would make a cycle: SI-003 → SI-001 → SI-002 → SI-003."
    ]
    assert Dependency.objects.count() == 2
    assert events_since(before) == []


def test_it_refuses_a_two_finding_cycle(a, b, system_context):
    dependency_add(finding=a, depends_on=b, context=system_context)

    with pytest.raises(ValidationError) as raised:
        dependency_add(finding=b, depends_on=a, context=system_context)

    assert raised.value.messages == [
        "This dependency would make a cycle: SI-002 → SI-001 → SI-002."
    ]


def test_it_allows_a_diamond_which_is_not_a_cycle(a, b, c, system_context):
    dependency_add(finding=a, depends_on=b, context=system_context)
    dependency_add(finding=a, depends_on=c, context=system_context)

    dependency_add(finding=b, depends_on=c, context=system_context)

    assert Dependency.objects.count() == 3


def test_it_refuses_a_duplicate_dependency(a, b, system_context):
    dependency_add(finding=a, depends_on=b, context=system_context)

    with pytest.raises(ValidationError) as raised:
        dependency_add(finding=a, depends_on=b, context=system_context)

    assert raised.value.messages == ["SI-001 already depends on SI-002."]
    assert Dependency.objects.count() == 1


def test_the_database_rejects_a_self_dependency_written_around_the_service(a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Dependency.objects.create(finding=a, depends_on=a)

    assert not Dependency.objects.exists()


def test_the_database_rejects_a_duplicate_written_around_the_service(a, b):
    Dependency.objects.create(finding=a, depends_on=b)

    with pytest.raises(IntegrityError), transaction.atomic():
        Dependency.objects.create(finding=a, depends_on=b)


def test_full_clean_rejects_a_cycle_on_depends_on(a, b, c, system_context):
    dependency_add(finding=a, depends_on=b, context=system_context)
    dependency_add(finding=b, depends_on=c, context=system_context)

    with pytest.raises(ValidationError) as raised:
        Dependency(finding=c, depends_on=a).full_clean()

    assert raised.value.message_dict == {
        "depends_on": ["This dependency would make a cycle: SI-003 → SI-001 → SI-002 → SI-003."]
    }


def test_full_clean_rejects_a_self_dependency_on_depends_on(a):
    with pytest.raises(ValidationError) as raised:
        Dependency(finding=a, depends_on=a).full_clean()

    assert raised.value.message_dict == {"depends_on": ["A finding cannot depend on itself."]}


def test_full_clean_accepts_a_dependency_that_closes_no_cycle(a, b, c, system_context):
    dependency_add(finding=a, depends_on=b, context=system_context)

    Dependency(finding=c, depends_on=a).full_clean()

    assert Dependency.objects.count() == 1


def test_a_finding_without_dependencies_says_so_in_its_integration_item(a):
    assert integration_item(a).text == "Integration with no other findings verified"


def test_adding_a_dependency_names_it_in_the_integration_item_and_unticks_it(
    a, b, c, reviewer, system_context
):
    dependency_add(finding=a, depends_on=c, context=system_context)
    ChecklistItem.objects.filter(pk=integration_item(a).pk).update(
        checked=True, checked_by=reviewer, checked_at=timezone.now()
    )
    version = integration_item(a).version

    dependency_add(finding=a, depends_on=b, context=system_context)

    item = integration_item(a)
    assert item.text == "Integration with SI-002, SI-003 verified"
    assert (item.checked, item.checked_by, item.checked_at) == (False, None, None)
    assert item.version == version + 1


def test_adding_a_dependency_records_both_changes_with_the_system_permission(a, b, system_context):
    before = last_event_id()

    dependency_add(finding=a, depends_on=b, context=system_context)

    assert events_since(before) == [
        ("dependency.added", "system:test"),
        ("checklist_item.dependencies_changed", "system:test"),
    ]
    added, rewritten = AuditEvent.objects.filter(id__gt=before).order_by("id")
    assert added.after == {"finding": "SI-001", "depends_on": "SI-002"}
    assert rewritten.before == {
        "text": "Integration with no other findings verified",
        "checked": False,
    }
    assert rewritten.after == {"text": "Integration with SI-002 verified", "checked": False}
    assert {added.finding_id, rewritten.finding_id} == {a.pk}


def test_removing_a_dependency_rewrites_the_integration_item_and_unticks_it(
    a, b, c, reviewer, system_context
):
    dependency_add(finding=a, depends_on=b, context=system_context)
    dependency = dependency_add(finding=a, depends_on=c, context=system_context)
    ChecklistItem.objects.filter(pk=integration_item(a).pk).update(
        checked=True, checked_by=reviewer, checked_at=timezone.now()
    )
    before = last_event_id()

    dependency_remove(dependency=dependency, context=system_context)

    item = integration_item(a)
    assert item.text == "Integration with SI-002 verified"
    assert (item.checked, item.checked_by) == (False, None)
    assert list(Dependency.objects.values_list("depends_on__code", flat=True)) == ["SI-002"]
    assert events_since(before) == [
        ("dependency.removed", "system:test"),
        ("checklist_item.dependencies_changed", "system:test"),
    ]
    removed, rewritten = AuditEvent.objects.filter(id__gt=before).order_by("id")
    assert removed.before == {"finding": "SI-001", "depends_on": "SI-003"}
    assert rewritten.before == {"text": "Integration with SI-002, SI-003 verified", "checked": True}


def test_removing_the_last_dependency_says_there_are_none(a, b, system_context):
    dependency = dependency_add(finding=a, depends_on=b, context=system_context)

    dependency_remove(dependency=dependency, context=system_context)

    assert integration_item(a).text == "Integration with no other findings verified"


def test_it_leaves_the_other_findings_checklists_alone(a, b, system_context):
    dependency_add(finding=a, depends_on=b, context=system_context)

    assert integration_item(b).text == "Integration with no other findings verified"


def test_it_records_an_admins_own_permissions(a, b, admin_user):
    context = ActionContext(actor=admin_user)
    before = last_event_id()

    dependency = dependency_add(finding=a, depends_on=b, context=context)
    dependency_remove(dependency=dependency, context=context)

    assert [permission for _, permission in events_since(before)] == [
        "findings.add_dependency",
        "findings.add_dependency",
        "findings.delete_dependency",
        "findings.delete_dependency",
    ]
    assert set(
        AuditEvent.objects.filter(id__gt=before).values_list("actor_username", flat=True)
    ) == {"admin"}


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "outsider"])
def test_it_refuses_users_who_may_not_edit_dependencies(a, b, c, persona, request, system_context):
    user = request.getfixturevalue(persona)
    dependency = dependency_add(finding=a, depends_on=b, context=system_context)
    before = last_event_id()

    with pytest.raises(PermissionDenied):
        dependency_add(finding=c, depends_on=a, context=ActionContext(actor=user))
    with pytest.raises(PermissionDenied):
        dependency_remove(dependency=dependency, context=ActionContext(actor=user))

    assert Dependency.objects.count() == 1
    assert events_since(before) == []
