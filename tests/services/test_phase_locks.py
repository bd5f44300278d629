"""Phase locks: phase 2A ends in a signoff, and the later phases wait for it.

Covers the reads in findings/gates.py and how checklist_item_set and finding_status_set obey them.
Signoffs are created and revoked directly here because the signoff service has its own tests.
"""

import pytest
from django.utils import timezone

from findings.gates import lock_reason_for, lock_reasons, phase_readiness, phases_with_signoff
from findings.models import AuditEvent, ChecklistItem, Finding, Phase, Signoff, Status
from findings.services.checklist import checklist_item_set
from findings.services.dependencies import dependency_add
from findings.services.errors import PhaseLocked
from findings.services.status import finding_status_set
from tests.helpers import context_for

LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."
PHASE_2A_FINDINGS = ["BF-002", "SI-001", "SI-002"]


def first_item(code: str) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code=code, position=1)


def lock_reasons_by_code() -> dict[str, str]:
    phases = phases_with_signoff()
    codes = {phase.pk: phase.code for phase in phases}
    return {codes[pk]: reason for pk, reason in lock_reasons(phases).items()}


def tick(item: ChecklistItem, user) -> ChecklistItem:
    return checklist_item_set(
        item_id=item.pk, checked=True, expected_version=item.version, context=context_for(user)
    )


@pytest.fixture
def phase_2a(catalogue) -> Phase:
    return Phase.objects.get(code="2A")


@pytest.fixture
def sign_off(phase_2a, lead):
    def sign_off() -> Signoff:
        return Signoff.objects.create(phase=phase_2a, signed_by=lead, signed_at=timezone.now())

    return sign_off


def revoke(signoff: Signoff, by) -> None:
    signoff.revoked_at = timezone.now()
    signoff.revoked_by = by
    signoff.revoke_reason = "A migration failed on staging after the signoff."
    signoff.save()


def test_the_catalogue_makes_only_phase_2a_a_signoff_gate(catalogue):
    assert list(Phase.objects.order_by("order").values_list("code", "requires_signoff")) == [
        ("2A", True),
        ("2B", False),
        ("2C", False),
        ("2D", False),
    ]


@pytest.mark.parametrize("code", ["BL-006", "BF-006", "SI-004", "BL-014"])
def test_it_refuses_ticking_a_later_phases_item_until_2a_is_signed_off(catalogue, reviewer, code):
    item = first_item(code)
    before = AuditEvent.objects.count()

    with pytest.raises(PhaseLocked) as raised:
        tick(item, reviewer)

    assert raised.value.message == f"{code} cannot be changed. {LOCKED_BY_2A}"
    assert "phase 2A" in raised.value.message
    assert raised.value.blockers == [LOCKED_BY_2A]
    item.refresh_from_db()
    assert (item.checked, item.checked_by, item.checked_at, item.version) == (False, None, None, 1)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("code", PHASE_2A_FINDINGS)
def test_it_lets_a_reviewer_tick_a_2a_item_before_any_signoff(catalogue, reviewer, code):
    returned = tick(first_item(code), reviewer)

    assert (returned.checked, returned.version) == (True, 2)


def test_it_unlocks_the_later_phases_once_2a_is_signed_off(sign_off, reviewer):
    sign_off()

    returned = tick(first_item("BL-006"), reviewer)

    assert (returned.checked, returned.version) == (True, 2)
    assert AuditEvent.objects.filter(action="checklist_item.ticked").count() == 1


def test_it_locks_the_later_phases_again_when_the_signoff_is_revoked(sign_off, reviewer, lead):
    revoke(sign_off(), by=lead)
    item = first_item("SI-004")

    with pytest.raises(PhaseLocked) as raised:
        tick(item, reviewer)

    assert raised.value.blockers == [LOCKED_BY_2A]
    item.refresh_from_db()
    assert (item.checked, item.version) == (False, 1)


def test_it_unlocks_again_with_a_new_signoff_after_a_revocation(sign_off, reviewer, lead):
    revoke(sign_off(), by=lead)
    sign_off()

    returned = tick(first_item("BF-006"), reviewer)

    assert returned.checked is True


def test_it_refuses_untick_in_a_locked_phase_too(sign_off, reviewer, lead):
    signoff = sign_off()
    item = tick(first_item("BL-005"), reviewer)
    revoke(signoff, by=lead)

    with pytest.raises(PhaseLocked):
        checklist_item_set(
            item_id=item.pk, checked=False, expected_version=2, context=context_for(reviewer)
        )

    item.refresh_from_db()
    assert (item.checked, item.checked_by, item.version) == (True, reviewer, 2)


def test_it_refuses_a_status_change_in_a_locked_phase_and_allows_it_after_signoff(
    sign_off, reviewer
):
    finding = Finding.objects.get(code="BL-007")

    with pytest.raises(PhaseLocked) as raised:
        finding_status_set(
            finding_id=finding.pk,
            target=Status.IN_PROGRESS,
            expected_version=1,
            context=context_for(reviewer),
        )
    assert "phase 2A" in raised.value.message

    sign_off()
    returned = finding_status_set(
        finding_id=finding.pk,
        target=Status.IN_PROGRESS,
        expected_version=1,
        context=context_for(reviewer),
    )
    assert (returned.status, returned.version) == (Status.IN_PROGRESS, 2)


def test_lock_reasons_lock_every_phase_after_an_unsigned_2a(catalogue):
    assert lock_reasons_by_code() == {"2B": LOCKED_BY_2A, "2C": LOCKED_BY_2A, "2D": LOCKED_BY_2A}


def test_lock_reasons_lock_nothing_once_2a_is_signed_off(sign_off):
    sign_off()

    assert lock_reasons_by_code() == {}


def test_lock_reasons_lock_again_after_a_revocation(sign_off, lead):
    revoke(sign_off(), by=lead)

    assert lock_reasons_by_code() == {"2B": LOCKED_BY_2A, "2C": LOCKED_BY_2A, "2D": LOCKED_BY_2A}


def test_lock_reasons_wait_on_the_first_unsigned_gate_when_a_later_phase_is_a_gate_too(
    sign_off, catalogue
):
    Phase.objects.filter(code="2C").update(requires_signoff=True)
    sign_off()

    assert lock_reasons_by_code() == {
        "2D": "Locked until phase 2C Performance is signed off.",
    }
    assert lock_reason_for(Phase.objects.get(code="2D")) == (
        "Locked until phase 2C Performance is signed off."
    )
    assert lock_reason_for(Phase.objects.get(code="2C")) == ""


def test_phases_with_signoff_marks_only_active_signoffs_in_one_query(
    sign_off, lead, django_assert_num_queries
):
    revoke(sign_off(), by=lead)
    sign_off()

    with django_assert_num_queries(1):
        phases = phases_with_signoff()

    assert [(phase.code, phase.has_active_signoff) for phase in phases] == [
        ("2A", True),
        ("2B", False),
        ("2C", False),
        ("2D", False),
    ]


def test_lock_reason_for_says_why_a_phase_is_locked(catalogue, sign_off):
    phases = {phase.code: phase for phase in Phase.objects.all()}

    assert lock_reason_for(phases["2A"]) == ""
    assert lock_reason_for(phases["2D"]) == LOCKED_BY_2A
    assert lock_reason_for(None) == ""
    sign_off()
    assert lock_reason_for(phases["2D"]) == ""


def test_phase_readiness_of_2a_lists_unfinished_findings_then_unticked_items(
    phase_2a, django_assert_num_queries
):
    with django_assert_num_queries(4):
        readiness = phase_readiness(phase_2a)
        blockers = readiness.blockers

    items = ChecklistItem.objects.filter(finding__phase=phase_2a).order_by(
        "finding__code", "position"
    )
    assert not readiness.is_ready
    assert blockers == [
        "BF-002 is planned, not done.",
        "SI-001 is planned, not done.",
        "SI-002 is planned, not done.",
        *(f"{item.finding.code}: “{item.text}” is not ticked." for item in items),
    ]
    assert len(items) == 3 * 13


def test_phase_readiness_of_a_locked_phase_puts_the_lock_first(catalogue):
    readiness = phase_readiness(Phase.objects.get(code="2B"))

    assert readiness.blockers.count(LOCKED_BY_2A) == 1
    assert readiness.blockers[0] == LOCKED_BY_2A
    assert not readiness.is_ready


def test_phase_readiness_names_an_unfinished_dependency_in_another_phase(
    catalogue, sign_off, system_context
):
    sign_off()
    dependant = Finding.objects.get(code="BL-006")
    dependency_add(
        finding=dependant, depends_on=Finding.objects.get(code="SI-001"), context=system_context
    )
    # Only the cross-phase dependency matters here.
    Finding.objects.filter(phase__code="2B").update(status=Status.DONE)
    ChecklistItem.objects.filter(finding__phase__code="2B").update(
        checked=True, checked_at=timezone.now()
    )

    readiness = phase_readiness(Phase.objects.get(code="2B"))

    assert readiness.blockers == ["BL-006 depends on SI-001, which is planned."]


def test_phase_readiness_of_2a_is_ready_when_every_finding_is_done_and_ticked(phase_2a, reviewer):
    for finding in Finding.objects.filter(phase=phase_2a):
        for item in finding.checklist_items.all():
            tick(item, reviewer)
        for version, target in enumerate(
            [Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE], start=1
        ):
            finding_status_set(
                finding_id=finding.pk,
                target=target,
                expected_version=version,
                context=context_for(reviewer),
            )

    readiness = phase_readiness(phase_2a)

    assert readiness.blockers == []
    assert readiness.is_ready
