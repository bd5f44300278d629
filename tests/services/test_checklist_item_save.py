"""checklist_item_save: an item that changes finding, wording or section must be verified again.

The probe: a lead ticked an item of a finding outside every phase, an admin moved the item into
SI-001, and the lead then signed 2A off with the lead's own tick on it.
"""

import pytest
from django.core.exceptions import ValidationError

from findings.models import AuditEvent, ChecklistItem, ChecklistSection, Finding, Phase, Signoff
from findings.services.checklist import Evidence, checklist_item_save, checklist_item_set
from findings.services.signoffs import signoff_sign
from tests.admin_forms import form_data
from tests.helpers import context_for
from tests.phase_work import fingerprint_of, item_of, make_ready, sign, tick

ITEM_TEXT = "Replication lag measured after the migration"


@pytest.fixture
def ticked_outside_the_plan(catalogue, admin_user, lead) -> ChecklistItem:
    """An item of BF-001, which was completed before the plan and has no phase, ticked by lead."""
    item = ChecklistItem(
        finding=Finding.objects.get(code="BF-001"),
        section=ChecklistSection.DATABASE,
        text=ITEM_TEXT,
        position=1,
    )
    checklist_item_save(item=item, context=context_for(admin_user))
    return tick(item, lead)


def assert_unticked(item: ChecklistItem) -> None:
    item.refresh_from_db()
    assert (item.checked, item.checked_by, item.checked_at) == (False, None, None)


def test_it_unticks_an_item_moved_into_a_phase_and_audits_the_move(
    ticked_outside_the_plan, admin_user
):
    item = ticked_outside_the_plan
    item.finding = Finding.objects.get(code="SI-001")
    item.position = 14

    checklist_item_save(item=item, context=context_for(admin_user))

    assert_unticked(item)
    event = AuditEvent.objects.get(action="checklist_item.moved")
    assert (event.actor, event.finding.code, event.permission) == (
        admin_user,
        "SI-001",
        "findings.change_checklistitem",
    )
    common = {"section": "database", "text": ITEM_TEXT}
    assert event.before == {"finding": "BF-001", **common, "position": 1, "checked": True}
    assert event.after == {"finding": "SI-001", **common, "position": 14, "checked": False}


def test_the_lead_cannot_sign_2a_with_a_tick_carried_in_by_a_move(
    ticked_outside_the_plan, admin_user, reviewer, lead
):
    phase_2a = Phase.objects.get(code="2A")
    make_ready(reviewer, "2A")
    item = ticked_outside_the_plan
    item.finding = Finding.objects.get(code="SI-001")
    item.position = 14

    # SI-001 is done, and a done finding's checklist stays ticked, so the item cannot come in.
    with pytest.raises(ValidationError):
        checklist_item_save(item=item, context=context_for(admin_user))

    stored = ChecklistItem.objects.select_related("finding").get(pk=item.pk)
    assert (stored.finding.code, stored.checked_by) == ("BF-001", lead)
    signoff_sign(
        phase_id=phase_2a.pk,
        expected_fingerprint=fingerprint_of(phase_2a),
        comment="All checked.",
        context=context_for(lead),
    )
    assert not ChecklistItem.objects.filter(finding__phase=phase_2a, checked_by=lead).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("text", "Migration rehearsed twice"), ("section", ChecklistSection.INTEGRATION)],
)
def test_it_unticks_an_item_whose_wording_or_section_changes(
    catalogue, reviewer, admin_user, field, value
):
    item = tick(item_of("SI-001", 1), reviewer)
    setattr(item, field, value)

    checklist_item_save(item=item, context=context_for(admin_user))

    assert_unticked(item)
    event = AuditEvent.objects.get(action="checklist_item.edited")
    assert (event.before["checked"], event.after["checked"]) == (True, False)
    assert (event.before["finding"], event.after["finding"]) == ("SI-001", "SI-001")
    assert event.after[field] == value


def test_it_clears_the_evidence_of_an_item_whose_wording_changes(catalogue, ci_bot, admin_user):
    item = item_of("SI-001", 1)
    checklist_item_set(
        item_id=item.pk,
        checked=True,
        expected_version=None,
        context=context_for(ci_bot),
        evidence=Evidence(url="https://ci.example/runs/812", commit="3f2c9a1", summary="run #812"),
    )
    item.refresh_from_db()
    item.text = "Migration rehearsed twice"

    checklist_item_save(item=item, context=context_for(admin_user))

    item.refresh_from_db()
    assert (item.evidence_url, item.evidence_commit, item.evidence_summary) == ("", "", "")


def test_it_keeps_the_evidence_of_an_item_that_only_changes_position(catalogue, ci_bot, admin_user):
    item = item_of("SI-001", 1)
    evidence = Evidence(url="https://ci.example/runs/812", commit="3f2c9a1", summary="run #812")
    checklist_item_set(
        item_id=item.pk,
        checked=True,
        expected_version=None,
        context=context_for(ci_bot),
        evidence=evidence,
    )
    item.refresh_from_db()
    item.position = 20
    item.evidence_summary = "an admin's form cannot change this"

    checklist_item_save(item=item, context=context_for(admin_user))

    item.refresh_from_db()
    assert (item.checked, item.evidence_summary) == (True, "run #812")


def test_it_keeps_the_tick_of_an_item_that_only_changes_position(catalogue, reviewer, admin_user):
    item = tick(item_of("SI-001", 1), reviewer)
    item.position = 20

    checklist_item_save(item=item, context=context_for(admin_user))

    item.refresh_from_db()
    assert (item.checked, item.checked_by) == (True, reviewer)


def test_a_move_out_of_a_signed_phase_revokes_its_signoff(catalogue, reviewer, lead, admin_user):
    # A move into a signed phase is refused (its findings are done), so only the source's
    # signoff can fall to a move.
    signed_2a = sign("2A", reviewer=reviewer, lead=lead)
    item = item_of("SI-001", 1)
    item.finding = Finding.objects.get(code="BL-006")
    item.position = 14

    checklist_item_save(item=item, context=context_for(admin_user))

    signed_2a.refresh_from_db()
    assert signed_2a.revoked_automatically
    assert f"SI-001: checklist item “{item.text}” removed." in signed_2a.revoke_reason
    assert not Signoff.objects.active().exists()


def test_moving_an_item_in_the_admin_unticks_it_and_revokes_the_signoff(
    catalogue, admin_client, admin_user, reviewer, lead
):
    signed_2a = sign("2A", reviewer=reviewer, lead=lead)
    item = item_of("SI-001", 1)
    url = f"/admin/findings/checklistitem/{item.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data.update(finding=str(Finding.objects.get(code="BF-001").pk), position="14")

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert_unticked(item)
    assert ChecklistItem.objects.get(pk=item.pk).finding.code == "BF-001"
    event = AuditEvent.objects.get(action="checklist_item.moved")
    assert (event.before["finding"], event.after["finding"]) == ("SI-001", "BF-001")
    assert (event.before["checked"], event.after["checked"]) == (True, False)
    signed_2a.refresh_from_db()
    assert signed_2a.revoked_automatically
    assert f"SI-001: checklist item “{item.text}” removed." in signed_2a.revoke_reason
