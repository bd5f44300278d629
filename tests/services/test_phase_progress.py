"""PhaseProgress: the per-phase counts that database triggers keep, whichever way rows change.

The reference is a plain recount with aggregate queries. Random sequences of real changes, through
the services and straight through the ORM and SQL, must leave every row equal to it.
"""

import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, ProtectedError, Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from findings.models import (
    ChecklistItem,
    ChecklistSection,
    Dependency,
    Finding,
    Phase,
    PhaseProgress,
    Status,
)
from findings.selectors import PROGRESS_FIELDS, phase_cards, phase_progress
from findings.services.checklist import (
    checklist_item_delete,
    checklist_item_save,
    checklist_item_set,
)
from findings.services.dependencies import dependency_add, dependency_remove
from findings.services.errors import Refused, StaleVersion
from findings.services.findings import finding_create, finding_delete, finding_update
from findings.services.status import allowed_targets, finding_status_set

FINISHED = (Status.DONE, Status.COMPLETED)
# What the services refuse for reasons of their own; a refused change must change no count.
REFUSALS = (Refused, StaleVersion, ValidationError, ProtectedError)
codes = (f"BL-{n}" for n in itertools.count(900))


def recounted(phase: Phase) -> dict[str, int]:
    """A phase's figures counted from scratch, as the cards counted them before PhaseProgress."""
    findings = Finding.objects.filter(phase=phase)
    remaining = findings.exclude(status=Status.DONE).aggregate(
        effort_min=Sum("effort_min_days", default=0),
        effort_max=Sum("effort_max_days", default=0),
        estimated=Count("pk", filter=Q(effort_min_days__isnull=False)),
    )
    items = ChecklistItem.objects.filter(finding__phase=phase)
    outside = (
        Dependency.objects.filter(finding__phase=phase)
        .exclude(depends_on__phase=phase)
        .exclude(depends_on__status__in=FINISHED)
    )
    return {
        "findings_total": findings.count(),
        "findings_done": findings.filter(status=Status.DONE).count(),
        "remaining_effort_min": remaining["effort_min"],
        "remaining_effort_max": remaining["effort_max"],
        "remaining_estimated": remaining["estimated"],
        "items_total": items.count(),
        "items_ticked": items.filter(checked=True).count(),
        "outside_dependencies_open": outside.count(),
    }


def stored(phase: Phase) -> dict[str, int]:
    return PhaseProgress.objects.values(*PROGRESS_FIELDS).get(phase=phase)


def assert_progress_is_recounted() -> None:
    phases = list(Phase.objects.order_by("pk"))
    assert PhaseProgress.objects.count() == len(phases)
    for phase in phases:
        assert (phase.code, stored(phase)) == (phase.code, recounted(phase))


@pytest.fixture
def unlocked_catalogue(catalogue):
    # Without a signoff gate no phase is locked, so every service may change every phase.
    Phase.objects.update(requires_signoff=False)
    return catalogue


# The changes the random sequences draw from. Each takes the hypothesis `data` to pick its rows.


def pick(data, queryset):
    rows = list(queryset.order_by("pk"))
    return data.draw(st.sampled_from(rows)) if rows else None


def tick_through_the_service(data, context):
    item = pick(data, ChecklistItem.objects.all())
    checklist_item_set(
        item_id=item.pk, checked=not item.checked, expected_version=item.version, context=context
    )


def move_status_through_the_service(data, context):
    finding = pick(data, Finding.objects.filter(phase__isnull=False))
    target = data.draw(st.sampled_from(allowed_targets(finding.status)))
    finding_status_set(
        finding_id=finding.pk, target=target, expected_version=finding.version, context=context
    )


def add_dependency_through_the_service(data, context):
    finding = pick(data, Finding.objects.filter(phase__isnull=False))
    depends_on = pick(data, Finding.objects.exclude(pk=finding.pk))
    dependency_add(finding=finding, depends_on=depends_on, context=context)


def remove_dependency_through_the_service(data, context):
    dependency = pick(data, Dependency.objects.all())
    if dependency is not None:
        dependency_remove(dependency=dependency, context=context)


def create_finding_through_the_service(data, context):
    effort = data.draw(st.sampled_from([None, 1, 4]))
    finding_create(
        context=context,
        code=next(codes),
        title="Drawn",
        phase=pick(data, Phase.objects.all()),
        status=data.draw(st.sampled_from([Status.PLANNED, Status.IN_PROGRESS])),
        effort_min_days=effort,
        effort_max_days=effort and effort + 2,
        depends_on=[pick(data, Finding.objects.all())],
    )


def delete_finding_through_the_service(data, context):
    finding_delete(finding=pick(data, Finding.objects.all()), context=context)


def move_finding_through_the_service(data, context):
    finding = pick(data, Finding.objects.filter(phase__isnull=False))
    finding.phase = pick(data, Phase.objects.all())
    finding_update(finding=finding, context=context)


def create_item_through_the_service(data, context):
    finding = pick(data, Finding.objects.filter(phase__isnull=False))
    position = finding.checklist_items.count() + 100
    item = ChecklistItem(
        finding=finding, section=ChecklistSection.MANDATORY, text="Drawn", position=position
    )
    checklist_item_save(item=item, context=context)


def delete_item_through_the_service(data, context):
    checklist_item_delete(item=pick(data, ChecklistItem.objects.all()), context=context)


def bulk_create_findings_with_items_and_dependencies(data, context):
    phases = list(Phase.objects.order_by("pk"))
    findings = Finding.objects.bulk_create(
        Finding(
            code=next(codes),
            title="Bulk",
            phase=phases[n % len(phases)],
            status=[Status.PLANNED, Status.DONE, Status.IN_REVIEW][n % 3],
            effort_min_days=n or None,
            effort_max_days=n * 2 or None,
        )
        for n in range(data.draw(st.integers(1, 4)))
    )
    now = timezone.now()
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            finding=finding,
            section=ChecklistSection.DATABASE,
            text="Bulk",
            key=f"bulk-{position}",
            position=position,
            checked=position % 2 == 0,
            checked_at=now if position % 2 == 0 else None,
        )
        for finding in findings
        for position in range(1, 4)
    )
    target = pick(data, Finding.objects.exclude(pk__in=[finding.pk for finding in findings]))
    Dependency.objects.bulk_create(
        Dependency(finding=finding, depends_on=target) for finding in findings
    )


def tick_a_whole_finding_with_update(data, context):
    finding = pick(data, Finding.objects.filter(phase__isnull=False))
    checked = data.draw(st.booleans())
    finding.checklist_items.update(checked=checked, checked_at=timezone.now() if checked else None)


def finish_or_reopen_findings_with_update(data, context):
    # Several findings at once, dependencies between them included, in one UPDATE statement.
    finding = pick(data, Finding.objects.filter(phase__isnull=False))
    related = (
        Q(pk=finding.pk)
        | Q(dependant_links__finding=finding)
        | Q(dependency_links__depends_on=finding)
    )
    status = data.draw(st.sampled_from([Status.DONE, Status.PLANNED, Status.IN_REVIEW]))
    Finding.objects.filter(related, phase__isnull=False).update(status=status)


def move_findings_with_update(data, context):
    finding = pick(data, Finding.objects.filter(phase__isnull=False))
    related = Q(pk=finding.pk) | Q(dependant_links__finding=finding)
    Finding.objects.filter(related, phase__isnull=False).update(
        phase=pick(data, Phase.objects.all())
    )


def delete_rows_with_the_orm(data, context):
    model = data.draw(st.sampled_from([ChecklistItem, Dependency, Finding]))
    row = pick(data, model.objects.all())
    if row is not None:
        model.objects.filter(pk=row.pk).delete()


def change_efforts_with_raw_sql(data, context):
    finding = pick(data, Finding.objects.filter(phase__isnull=False))
    effort = data.draw(st.sampled_from([None, 2, 7]))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE findings_finding SET effort_min_days = %s, effort_max_days = %s WHERE id = %s",
            [effort, effort and effort + 1, finding.pk],
        )


CHANGES = [
    tick_through_the_service,
    move_status_through_the_service,
    add_dependency_through_the_service,
    remove_dependency_through_the_service,
    create_finding_through_the_service,
    delete_finding_through_the_service,
    move_finding_through_the_service,
    create_item_through_the_service,
    delete_item_through_the_service,
    bulk_create_findings_with_items_and_dependencies,
    tick_a_whole_finding_with_update,
    finish_or_reopen_findings_with_update,
    move_findings_with_update,
    delete_rows_with_the_orm,
    change_efforts_with_raw_sql,
]


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_keeps_every_phase_recounted_through_random_changes(
    unlocked_catalogue, system_context, data
):
    # Each example starts from the catalogue: its changes are rolled back at the end.
    with transaction.atomic():
        assert_progress_is_recounted()
        for _ in range(data.draw(st.integers(1, 12), label="steps")):
            change = data.draw(st.sampled_from(CHANGES))
            try:
                with transaction.atomic():
                    change(data, system_context)
            except REFUSALS:
                pass
            assert_progress_is_recounted()
        transaction.set_rollback(True)


def test_it_gives_every_phase_a_progress_row(catalogue):
    phase = Phase.objects.create(
        code="3A", name="Later", priority_band="MEDIUM/LOW", folder_name="p3a", order=9
    )

    assert stored(phase) == dict.fromkeys(PROGRESS_FIELDS, 0)
    assert_progress_is_recounted()


def test_a_tick_moves_items_ticked_by_one(catalogue, system_context):
    item = ChecklistItem.objects.get(finding__code="SI-001", position=1)
    before = stored(item.finding.phase)

    checklist_item_set(item_id=item.pk, checked=True, expected_version=1, context=system_context)

    after = stored(item.finding.phase)
    assert after["items_ticked"] == before["items_ticked"] + 1
    assert after["items_total"] == before["items_total"]


def test_moving_a_finding_moves_its_counts(unlocked_catalogue, system_context):
    finding = Finding.objects.get(code="SI-001")
    source, target = finding.phase, Phase.objects.exclude(pk=finding.phase_id).first()
    items = finding.checklist_items.count()
    source_before, target_before = stored(source), stored(target)

    finding.phase = target
    finding_update(finding=finding, context=system_context)

    assert stored(source)["findings_total"] == source_before["findings_total"] - 1
    assert stored(source)["items_total"] == source_before["items_total"] - items
    assert stored(target)["findings_total"] == target_before["findings_total"] + 1
    assert stored(target)["items_total"] == target_before["items_total"] + items
    assert_progress_is_recounted()


def test_finishing_a_dependency_in_another_phase_drops_the_dependants_open_count(
    unlocked_catalogue, system_context
):
    phases = list(Phase.objects.order_by("order"))
    dependant = Finding.objects.filter(phase=phases[1]).first()
    depends_on = Finding.objects.filter(phase=phases[0]).exclude(
        dependant_links__finding=dependant
    )[0]
    dependency_add(finding=dependant, depends_on=depends_on, context=system_context)
    open_before = stored(phases[1])["outside_dependencies_open"]

    Finding.objects.filter(pk=depends_on.pk).update(status=Status.DONE)

    assert stored(phases[1])["outside_dependencies_open"] == open_before - 1
    assert_progress_is_recounted()


def test_the_cards_show_the_stored_figures(unlocked_catalogue):
    Finding.objects.filter(code="SI-001").update(status=Status.DONE)

    for card in phase_cards():
        figures = {name: getattr(card, name) for name in PROGRESS_FIELDS}
        assert figures == recounted(card.phase)
        assert card.remaining_unestimated == card.findings_open - card.remaining_estimated
        assert figures == {name: getattr(phase_progress(card.phase), name) for name in figures}
