"""signoff_sign: a signoff lead approves a ready phase, and only someone independent of its work.

Phase 2A is made ready the way people make it ready: a reviewer ticks every item and moves every
finding to done through the services. `lead` ticked nothing and owns nothing unless a test says so.
"""

import re

import pytest
from django.core.exceptions import PermissionDenied

from findings.gates import phase_readiness
from findings.models import (
    AuditEvent,
    ChecklistItem,
    Dependency,
    Finding,
    Phase,
    Signoff,
    Status,
)
from findings.services.errors import PhaseLocked, Refused, StaleVersion
from findings.services.findings import finding_update
from findings.services.signoffs import (
    content_fingerprint,
    phase_content,
    signoff_revoke,
    signoff_sign,
)
from tests.helpers import context_for
from tests.phase_work import fingerprint_of, make_ready, move, tick

SIGN_PERMISSION = "findings.sign_off_phase"
PHASE_2A_FINDINGS = ["BF-002", "SI-001", "SI-002"]
SIGNOFF_ACTIONS = [
    "phase.signed_off",
    "phase.signoff_refused",
    "phase.signoff_revoked",
    "phase.signoff_auto_revoked",
]
COMMENT = "Ran every 2A migration and its rollback on a copy of production."
OWNER_REASON = "You own SI-001 in this phase; someone else must sign it off."
TICKER_REASON = (
    "Items of SI-002 in this phase stand ticked by you; with strict separation of duties "
    "someone else must sign it off."
)


def sign(phase: Phase, user, comment: str = COMMENT) -> Signoff:
    """Sign off what the phase holds now, as a signer who has just reviewed it."""
    return signoff_sign(
        phase_id=phase.pk,
        expected_fingerprint=fingerprint_of(phase),
        comment=comment,
        context=context_for(user),
    )


def signoff_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__in=SIGNOFF_ACTIONS).order_by("id"))


@pytest.fixture
def phase_2a(catalogue) -> Phase:
    return Phase.objects.get(code="2A")


@pytest.fixture
def ready_2a(phase_2a, reviewer) -> Phase:
    make_ready(reviewer)
    assert phase_readiness(phase_2a).is_ready
    return phase_2a


def test_it_signs_a_ready_phase_off_for_a_lead(ready_2a, lead):
    signoff = sign(ready_2a, lead)

    signoff.refresh_from_db()
    assert (signoff.phase, signoff.signed_by, signoff.comment) == (ready_2a, lead, COMMENT)
    assert signoff.is_active
    assert signoff.signed_at is not None
    assert list(Signoff.objects.active()) == [signoff]


def test_it_stores_the_fingerprint_and_the_content_it_approved(ready_2a, lead):
    signoff = sign(ready_2a, lead)

    signoff.refresh_from_db()
    content = phase_content(ready_2a.pk)
    assert re.fullmatch(r"[0-9a-f]{64}", signoff.fingerprint)
    assert signoff.fingerprint == content_fingerprint(content)
    assert signoff.approved_content == content
    approved = signoff.approved_content["findings"]
    assert sorted(approved) == PHASE_2A_FINDINGS
    assert {finding["status"] for finding in approved.values()} == {Status.DONE}
    assert [len(finding["checklist"]) for finding in approved.values()] == [13, 13, 13]
    assert all(item[3] for finding in approved.values() for item in finding["checklist"])
    assert approved["SI-001"]["dependencies"] == ["BF-001", "BL-002"]


def test_it_records_the_signoff_with_the_permission_used(ready_2a, lead):
    signoff = sign(ready_2a, lead)

    [event] = signoff_events()
    assert (event.action, event.permission, event.actor, event.actor_username) == (
        "phase.signed_off",
        SIGN_PERMISSION,
        lead,
        "lead",
    )
    assert (event.object_type, event.object_id) == ("signoff", str(signoff.pk))
    assert event.after == {"phase": "2A", "fingerprint": signoff.fingerprint, "comment": COMMENT}
    assert (event.request_id, event.ip_address, event.user_agent) == ("r1", "127.0.0.1", "pytest")


def test_it_unlocks_phase_2b_once_2a_is_signed_off(ready_2a, lead, reviewer):
    item = ChecklistItem.objects.get(finding__code="BL-006", position=1)
    with pytest.raises(PhaseLocked):
        tick(item, reviewer)

    sign(ready_2a, lead)

    returned = tick(item, reviewer)
    assert (returned.checked, returned.checked_by) == (True, reviewer)


def test_it_lets_an_admin_who_did_no_work_sign(ready_2a, admin_user):
    signoff = sign(ready_2a, admin_user)

    assert (signoff.signed_by, signoff.is_active) == (admin_user, True)


def test_it_refuses_an_untouched_phase_naming_every_blocker(phase_2a, lead):
    with pytest.raises(Refused) as raised:
        sign(phase_2a, lead)

    assert raised.value.message == "Phase 2A is not ready to sign off."
    assert raised.value.blockers == phase_readiness(phase_2a).blockers
    assert raised.value.blockers[:3] == [
        "BF-002 is planned, not done.",
        "SI-001 is planned, not done.",
        "SI-002 is planned, not done.",
    ]
    assert len(raised.value.blockers) == 3 + 3 * 13
    assert not Signoff.objects.exists()
    assert signoff_events() == []


def test_it_names_the_one_unticked_item_that_blocks_the_signoff(ready_2a, lead, reviewer):
    item = ChecklistItem.objects.get(finding__code="SI-002", position=4)
    # The services keep a done finding's items ticked; an untick recorded before that rule
    # still blocks the signoff.
    ChecklistItem.objects.filter(pk=item.pk).update(checked=False, checked_by=None, checked_at=None)

    with pytest.raises(Refused) as raised:
        sign(ready_2a, lead)

    assert raised.value.blockers == [f"SI-002: “{item.text}” is not ticked."]
    assert not Signoff.objects.exists()


def test_it_names_the_finding_that_is_not_done(ready_2a, lead, reviewer):
    move("BF-002", Status.IN_REVIEW, reviewer)

    with pytest.raises(Refused) as raised:
        sign(ready_2a, lead)

    assert raised.value.blockers == ["BF-002 is in review, not done."]
    assert not Signoff.objects.exists()


def test_it_names_a_dependency_outside_the_phase_that_is_not_done(ready_2a, lead):
    # The dependency services refuse a dependency into a later phase; one recorded before
    # that rule still blocks the signoff.
    Dependency.objects.create(
        finding=Finding.objects.get(code="SI-001"), depends_on=Finding.objects.get(code="BL-005")
    )

    with pytest.raises(Refused) as raised:
        sign(ready_2a, lead)

    assert raised.value.blockers == ["SI-001 depends on BL-005, which is planned."]
    assert not Signoff.objects.exists()


def test_it_names_an_earlier_gate_that_is_not_signed_off(catalogue, lead):
    Phase.objects.filter(code="2C").update(requires_signoff=True)

    with pytest.raises(Refused) as raised:
        sign(Phase.objects.get(code="2C"), lead)

    assert raised.value.message == "Phase 2C is not ready to sign off."
    assert raised.value.blockers[0] == "Locked until phase 2A Foundation is signed off."
    assert not Signoff.objects.exists()


def test_it_refuses_a_phase_without_a_gate(catalogue, lead):
    with pytest.raises(Refused) as raised:
        sign(Phase.objects.get(code="2B"), lead)

    assert raised.value.message == "Phase 2B has no signoff gate."
    assert not Signoff.objects.exists()
    assert signoff_events() == []


def test_it_refuses_a_second_signoff_of_a_signed_phase(ready_2a, lead, admin_user):
    first = sign(ready_2a, lead)

    with pytest.raises(Refused) as raised:
        sign(ready_2a, admin_user, comment="Me too.")

    assert raised.value.message == "Phase 2A is already signed off."
    assert list(Signoff.objects.all()) == [first]
    assert [event.action for event in signoff_events()] == ["phase.signed_off"]


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "outsider"])
def test_it_refuses_a_user_without_the_signoff_permission(ready_2a, persona, request):
    user = request.getfixturevalue(persona)

    with pytest.raises(PermissionDenied):
        sign(ready_2a, user)

    assert not Signoff.objects.exists()
    assert signoff_events() == []


def test_it_refuses_a_deactivated_lead(ready_2a, lead):
    lead.is_active = False
    lead.save()

    with pytest.raises(PermissionDenied):
        sign(ready_2a, lead)

    assert not Signoff.objects.exists()


def test_it_refuses_a_management_command(ready_2a, system_context):
    with pytest.raises(Refused) as raised:
        signoff_sign(
            phase_id=ready_2a.pk,
            expected_fingerprint=fingerprint_of(ready_2a),
            comment=COMMENT,
            context=system_context,
        )

    assert raised.value.message == "A signoff is a person's approval; a command cannot sign."
    assert not Signoff.objects.exists()


def test_it_raises_does_not_exist_for_an_unknown_phase(catalogue, lead):
    unknown = Phase.objects.order_by("-pk").first().pk + 1

    with pytest.raises(Phase.DoesNotExist):
        signoff_sign(
            phase_id=unknown,
            expected_fingerprint="0" * 64,
            comment=COMMENT,
            context=context_for(lead),
        )


def test_it_refuses_an_owner_of_a_finding_in_the_phase_and_audits_it(phase_2a, lead, reviewer):
    # A direct update skips the signoff revalidation, which is harmless before any signoff.
    Finding.objects.filter(code="SI-001").update(owner=lead)
    make_ready(reviewer)

    with pytest.raises(Refused) as raised:
        signoff_sign(
            phase_id=phase_2a.pk,
            expected_fingerprint=fingerprint_of(phase_2a),
            comment=COMMENT,
            context=context_for(lead, "r-own"),
        )

    assert raised.value.message == "You may not sign off phase 2A."
    assert raised.value.blockers == [OWNER_REASON]
    assert not Signoff.objects.exists()
    [event] = signoff_events()
    assert (event.action, event.actor, event.permission, event.request_id) == (
        "phase.signoff_refused",
        lead,
        SIGN_PERMISSION,
        "r-own",
    )
    assert (event.object_type, event.object_id) == ("phase", str(phase_2a.pk))
    assert event.after == {"phase": "2A", "reasons": [OWNER_REASON]}


def test_it_lets_another_lead_sign_the_phase_an_owner_could_not(
    phase_2a, lead, reviewer, admin_user
):
    Finding.objects.filter(code="SI-001").update(owner=lead)
    make_ready(reviewer)
    with pytest.raises(Refused):
        sign(phase_2a, lead)

    signoff = sign(phase_2a, admin_user)

    assert signoff.signed_by == admin_user


def test_it_refuses_a_lead_who_ticked_an_item_of_the_phase_and_audits_it(phase_2a, lead, reviewer):
    tick(ChecklistItem.objects.get(finding__code="SI-002", position=1), lead)
    make_ready(reviewer)

    with pytest.raises(Refused) as raised:
        sign(phase_2a, lead)

    assert raised.value.message == "You may not sign off phase 2A."
    assert raised.value.blockers == [TICKER_REASON]
    assert not Signoff.objects.exists()
    [event] = signoff_events()
    assert (event.action, event.actor) == ("phase.signoff_refused", lead)
    assert event.after == {"phase": "2A", "reasons": [TICKER_REASON]}


def test_it_names_both_reasons_for_an_owner_who_also_ticked(phase_2a, lead, reviewer):
    Finding.objects.filter(code="SI-001").update(owner=lead)
    tick(ChecklistItem.objects.get(finding__code="SI-002", position=1), lead)
    make_ready(reviewer)

    with pytest.raises(Refused) as raised:
        sign(phase_2a, lead)

    assert raised.value.blockers == [OWNER_REASON, TICKER_REASON]


def test_it_lets_a_lead_sign_once_a_reviewer_has_redone_their_tick(phase_2a, lead, reviewer):
    item = ChecklistItem.objects.get(finding__code="SI-002", position=1)
    tick(item, lead)
    tick(item, reviewer, checked=False)
    tick(item, reviewer)
    make_ready(reviewer)

    signoff = sign(phase_2a, lead)

    assert (signoff.signed_by, signoff.is_active) == (lead, True)
    assert [event.action for event in signoff_events()] == ["phase.signed_off"]


def test_it_still_refuses_a_lead_with_one_tick_standing_after_others_were_redone(
    phase_2a, lead, reviewer
):
    redone = ChecklistItem.objects.get(finding__code="SI-001", position=1)
    standing = ChecklistItem.objects.get(finding__code="SI-002", position=1)
    tick(redone, lead)
    tick(standing, lead)
    tick(redone, reviewer, checked=False)
    tick(redone, reviewer)
    make_ready(reviewer)

    with pytest.raises(Refused) as raised:
        sign(phase_2a, lead)

    assert raised.value.blockers == [TICKER_REASON]
    assert not Signoff.objects.exists()


def test_it_still_refuses_an_owner_whose_ticks_were_redone(phase_2a, lead, reviewer):
    Finding.objects.filter(code="SI-001").update(owner=lead)
    item = ChecklistItem.objects.get(finding__code="SI-002", position=1)
    tick(item, lead)
    tick(item, reviewer, checked=False)
    tick(item, reviewer)
    make_ready(reviewer)

    with pytest.raises(Refused) as raised:
        sign(phase_2a, lead)

    assert raised.value.blockers == [OWNER_REASON]
    assert not Signoff.objects.exists()


def test_it_lets_a_lead_who_ticked_sign_when_separation_is_relaxed(
    phase_2a, lead, reviewer, settings
):
    settings.SIGNOFF_STRICT_SEPARATION = False
    tick(ChecklistItem.objects.get(finding__code="SI-002", position=1), lead)
    make_ready(reviewer)

    signoff = sign(phase_2a, lead)

    assert (signoff.signed_by, signoff.is_active) == (lead, True)
    assert [event.action for event in signoff_events()] == ["phase.signed_off"]


def test_it_still_refuses_an_owner_when_separation_is_relaxed(phase_2a, lead, reviewer, settings):
    settings.SIGNOFF_STRICT_SEPARATION = False
    Finding.objects.filter(code="SI-001").update(owner=lead)
    tick(ChecklistItem.objects.get(finding__code="SI-002", position=1), lead)
    make_ready(reviewer)

    with pytest.raises(Refused) as raised:
        sign(phase_2a, lead)

    assert raised.value.blockers == [OWNER_REASON]
    assert not Signoff.objects.exists()
    assert [event.action for event in signoff_events()] == ["phase.signoff_refused"]


def test_it_does_not_hold_a_tick_in_another_phase_against_the_signer(
    phase_2a, lead, reviewer, admin_user
):
    make_ready(reviewer)
    first = sign(phase_2a, admin_user)
    tick(ChecklistItem.objects.get(finding__code="BL-006", position=1), lead)
    signoff_revoke(
        phase_id=phase_2a.pk, reason="Signed by the wrong person.", context=context_for(admin_user)
    )

    second = sign(phase_2a, lead)

    assert list(Signoff.objects.active()) == [second]
    assert second != first


def test_it_refuses_content_changed_since_the_signer_reviewed_it_and_records_nothing(
    ready_2a, lead, admin_user
):
    reviewed = fingerprint_of(ready_2a)
    finding = Finding.objects.get(code="SI-001")
    finding.rollback_sql += "\n-- rehearsed again"
    finding_update(finding=finding, context=context_for(admin_user))

    with pytest.raises(StaleVersion) as raised:
        signoff_sign(
            phase_id=ready_2a.pk,
            expected_fingerprint=reviewed,
            comment=COMMENT,
            context=context_for(lead),
        )

    current = fingerprint_of(ready_2a)
    assert current != reviewed
    assert raised.value.status == 409
    assert raised.value.message == (
        f"Phase 2A changed since you reviewed it: its content fingerprint is now {current}. "
        "Nothing was signed; review the content again and confirm."
    )
    assert not Signoff.objects.exists()
    assert signoff_events() == []


def test_it_signs_the_content_the_signer_reviewed(ready_2a, lead):
    reviewed = fingerprint_of(ready_2a)

    signoff = signoff_sign(
        phase_id=ready_2a.pk,
        expected_fingerprint=reviewed,
        comment=COMMENT,
        context=context_for(lead),
    )

    assert signoff.fingerprint == reviewed
