"""The admin obeys the phase locks and the lifecycle, and a phase's gate changes only audited.

The probe: SI-099 created directly as done in locked 2B; one save moving SI-002 from 2A into
locked 2C and from done to in review; 2A's gate switched off, unlocking 2B with no trace.
The rules live in the services (finding_create, finding_update, catalogue_object_save), so the
tests drive both the services and the admin's real forms.
"""

import pytest
from django.core.exceptions import ValidationError

from findings.models import AuditEvent, Finding, Phase, Signoff, Status
from findings.services.catalogue import catalogue_object_save
from findings.services.errors import PhaseLocked
from findings.services.findings import finding_create, finding_update
from findings.services.signoffs import phase_gate_set
from findings.services.status import ENTRY_RULE
from tests.admin_forms import form_data
from tests.helpers import context_for
from tests.phase_work import LOCKED_BY_2A, finish, item_of, move, sign, tick

LOCKED_BY_2B = "Locked until phase 2B Security is signed off."


def moved_into_2c_message(code: str, status: str) -> str:
    return (
        f"Only a planned finding may move into a locked phase, and {code} would be {status}. "
        f"{LOCKED_BY_2A}"
    )


def finding_url(finding: Finding) -> str:
    return f"/admin/findings/finding/{finding.pk}/change/"


def phase_url(phase: Phase) -> str:
    return f"/admin/findings/phase/{phase.pk}/change/"


def stored(code: str) -> tuple[str, str, int]:
    return Finding.objects.values_list("phase__code", "status", "version").get(code=code)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


@pytest.fixture
def si_002_done(catalogue, reviewer) -> Finding:
    return finish("SI-002", reviewer)


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE])
def test_it_refuses_creating_a_finding_past_planned(catalogue, admin_user, status):
    with pytest.raises(ValidationError) as raised:
        finding_create(
            context=context_for(admin_user),
            code="SI-099",
            title="Created as done",
            phase=Phase.objects.get(code="2B"),
            status=status,
        )

    assert raised.value.message_dict == {"status": [ENTRY_RULE]}
    assert not Finding.objects.filter(code="SI-099").exists()


def test_it_creates_a_planned_finding_even_in_a_locked_phase(catalogue, admin_user):
    finding_create(
        context=context_for(admin_user),
        code="SI-099",
        title="Planned",
        phase=Phase.objects.get(code="2B"),
    )

    assert stored("SI-099") == ("2B", Status.PLANNED, 1)


def test_it_refuses_moving_a_done_finding_into_a_locked_phase_and_reopening_it(
    si_002_done, admin_user
):
    version = si_002_done.version
    si_002_done.phase = Phase.objects.get(code="2C")
    si_002_done.status = Status.IN_REVIEW

    with pytest.raises(ValidationError) as raised:
        finding_update(finding=si_002_done, context=context_for(admin_user))

    assert raised.value.message_dict == {
        "status": [f"SI-002 cannot be changed. {LOCKED_BY_2A}"],
        "phase": [moved_into_2c_message("SI-002", "in review")],
    }
    assert stored("SI-002") == ("2A", Status.DONE, version)


def test_it_refuses_moving_a_finding_in_progress_into_a_locked_phase(
    catalogue, reviewer, admin_user
):
    finding = move("SI-001", Status.IN_PROGRESS, reviewer)
    finding.phase = Phase.objects.get(code="2C")

    with pytest.raises(ValidationError) as raised:
        finding_update(finding=finding, context=context_for(admin_user))

    assert raised.value.message_dict == {"phase": [moved_into_2c_message("SI-001", "in progress")]}
    assert stored("SI-001")[0] == "2A"


def test_it_lets_a_planned_finding_move_into_a_locked_phase(catalogue, admin_user):
    finding = Finding.objects.get(code="SI-001")
    finding.phase = Phase.objects.get(code="2C")

    finding_update(finding=finding, context=context_for(admin_user))

    assert stored("SI-001") == ("2C", Status.PLANNED, 2)


def test_it_judges_a_status_change_by_the_phase_the_finding_moves_to(catalogue, admin_user):
    finding = Finding.objects.get(code="BL-006")
    finding.phase = Phase.objects.get(code="2A")
    finding.status = Status.IN_PROGRESS

    finding_update(finding=finding, context=context_for(admin_user))

    assert stored("BL-006") == ("2A", Status.IN_PROGRESS, 2)


def test_removing_a_gate_is_audited_and_revokes_its_signoff(catalogue, reviewer, lead, admin_user):
    signoff = sign("2A", reviewer=reviewer, lead=lead)
    phase = Phase.objects.get(code="2A")
    phase.requires_signoff = False

    catalogue_object_save(obj=phase, context=context_for(admin_user))

    [removed] = events("phase.gate_removed")
    assert (removed.actor, removed.permission, removed.object_id) == (
        admin_user,
        "findings.change_phase",
        str(phase.pk),
    )
    assert removed.before == {"phase": "2A", "requires_signoff": True}
    assert removed.after == {"phase": "2A", "requires_signoff": False}
    assert events("phase.updated") == []
    signoff.refresh_from_db()
    assert signoff.revoked_automatically
    assert signoff.revoke_reason == "The signoff gate of phase 2A was removed."
    [revoked] = events("phase.signoff_auto_revoked")
    assert (revoked.object_id, revoked.permission) == (
        str(signoff.pk),
        "system:signoff gate removed",
    )
    assert not Phase.objects.get(code="2A").requires_signoff


def test_adding_a_gate_is_audited_and_locks_the_phases_after_it(
    catalogue, reviewer, lead, admin_user
):
    sign("2A", reviewer=reviewer, lead=lead)
    phase = Phase.objects.get(code="2B")
    phase.requires_signoff = True

    catalogue_object_save(obj=phase, context=context_for(admin_user))

    [added] = events("phase.gate_added")
    assert (added.before, added.after) == (
        {"phase": "2B", "requires_signoff": False},
        {"phase": "2B", "requires_signoff": True},
    )
    assert tick(item_of("BL-006", 1), reviewer).checked
    with pytest.raises(PhaseLocked) as raised:
        tick(item_of("BF-006", 1), reviewer)
    assert raised.value.blockers == [LOCKED_BY_2B]


def test_setting_a_gate_to_what_it_is_records_nothing(catalogue, admin_user):
    phase_gate_set(
        phase=Phase.objects.get(code="2A"), requires_signoff=True, context=context_for(admin_user)
    )

    assert events("phase.gate_added") == events("phase.gate_removed") == []


def test_the_admin_add_form_refuses_a_finding_created_as_done(admin_client, catalogue):
    data = form_data(admin_client.get("/admin/findings/finding/add/").content.decode())
    data.update(
        code="SI-099",
        title="Created as done",
        phase=str(Phase.objects.get(code="2B").pk),
        status=Status.DONE,
    )

    response = admin_client.post("/admin/findings/finding/add/", data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"status": [ENTRY_RULE]}
    assert not Finding.objects.filter(code="SI-099").exists()


def test_the_admin_change_form_refuses_a_move_into_a_locked_phase_with_a_reopening(
    admin_client, si_002_done
):
    version = si_002_done.version
    data = form_data(admin_client.get(finding_url(si_002_done)).content.decode())
    data.update(phase=str(Phase.objects.get(code="2C").pk), status=Status.IN_REVIEW)

    response = admin_client.post(finding_url(si_002_done), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "status": [f"SI-002 cannot be changed. {LOCKED_BY_2A}"],
        "phase": [moved_into_2c_message("SI-002", "in review")],
    }
    assert stored("SI-002") == ("2A", Status.DONE, version)


def test_switching_off_a_gate_in_the_admin_is_audited_and_revokes_its_signoff(
    admin_client, reviewer, lead, catalogue
):
    signoff = sign("2A", reviewer=reviewer, lead=lead)
    phase = Phase.objects.get(code="2A")
    data = form_data(admin_client.get(phase_url(phase)).content.decode())
    del data["requires_signoff"]

    response = admin_client.post(phase_url(phase), data)

    assert response.status_code == 302
    assert [event.after for event in events("phase.gate_removed")] == [
        {"phase": "2A", "requires_signoff": False}
    ]
    assert events("phase.updated") == []
    assert not Signoff.objects.active().exists()
    signoff.refresh_from_db()
    assert signoff.revoke_reason == "The signoff gate of phase 2A was removed."
