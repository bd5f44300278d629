"""signoff_revoke: a lead or an admin withdraws a phase's signoff, with a reason, and 2B relocks."""

import pytest
from django.core.exceptions import PermissionDenied

from findings.models import AuditEvent, ChecklistItem, Phase, Signoff, Status
from findings.services.errors import PhaseLocked, Refused
from findings.services.signoffs import signoff_revoke, signoff_sign
from tests.helpers import context_for
from tests.phase_work import fingerprint_of, make_ready, move, tick

SIGN_PERMISSION = "findings.sign_off_phase"
REASON = "The SI-001 migration locks the accounts table for minutes on production data."
LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."


def revoke(phase: Phase, user, reason: str = REASON) -> Signoff:
    return signoff_revoke(phase_id=phase.pk, reason=reason, context=context_for(user, "r-rev"))


def revoke_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="phase.signoff_revoked").order_by("id"))


def first_2b_item() -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code="BL-006", position=1)


@pytest.fixture
def phase_2a(catalogue) -> Phase:
    return Phase.objects.get(code="2A")


@pytest.fixture
def signoff(phase_2a, reviewer, lead) -> Signoff:
    make_ready(reviewer)
    return signoff_sign(
        phase_id=phase_2a.pk,
        expected_fingerprint=fingerprint_of(phase_2a),
        comment="All checked.",
        context=context_for(lead),
    )


def test_it_lets_a_lead_revoke_with_a_reason(phase_2a, signoff, lead):
    returned = revoke(phase_2a, lead)

    signoff.refresh_from_db()
    assert returned == signoff
    assert not signoff.is_active
    assert signoff.revoked_at is not None
    assert (signoff.revoked_by, signoff.revoke_reason, signoff.revoked_automatically) == (
        lead,
        REASON,
        False,
    )
    assert not Signoff.objects.active().exists()


def test_it_records_the_revocation_with_the_permission_used(phase_2a, signoff, lead):
    revoke(phase_2a, lead)

    [event] = revoke_events()
    assert (event.actor, event.permission, event.request_id) == (lead, SIGN_PERMISSION, "r-rev")
    assert (event.object_type, event.object_id) == ("signoff", str(signoff.pk))
    assert event.before == {"phase": "2A", "fingerprint": signoff.fingerprint}
    assert event.after == {"reason": REASON}


def test_it_lets_an_admin_revoke_a_leads_signoff(phase_2a, signoff, admin_user):
    revoke(phase_2a, admin_user)

    signoff.refresh_from_db()
    assert (signoff.is_active, signoff.revoked_by) == (False, admin_user)
    [event] = revoke_events()
    assert event.actor == admin_user


def test_it_locks_phase_2b_again(phase_2a, signoff, lead, reviewer):
    tick(first_2b_item(), reviewer)

    revoke(phase_2a, lead)

    with pytest.raises(PhaseLocked) as raised:
        tick(first_2b_item(), reviewer, checked=False)
    assert raised.value.blockers == [LOCKED_BY_2A]
    with pytest.raises(PhaseLocked):
        move("BL-006", Status.IN_PROGRESS, reviewer)
    assert first_2b_item().checked


def test_it_strips_the_reason(phase_2a, signoff, lead):
    revoke(phase_2a, lead, reason=f"  {REASON}\n")

    signoff.refresh_from_db()
    assert signoff.revoke_reason == REASON
    assert revoke_events()[0].after == {"reason": REASON}


@pytest.mark.parametrize("reason", ["", "   \n\t "])
def test_it_refuses_a_revocation_without_a_reason(phase_2a, signoff, lead, reason):
    with pytest.raises(Refused) as raised:
        revoke(phase_2a, lead, reason=reason)

    assert raised.value.message == "Revoking a signoff needs a reason."
    signoff.refresh_from_db()
    assert signoff.is_active
    assert revoke_events() == []


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "outsider"])
def test_it_refuses_a_user_without_the_signoff_permission(phase_2a, signoff, persona, request):
    with pytest.raises(PermissionDenied):
        revoke(phase_2a, request.getfixturevalue(persona))

    signoff.refresh_from_db()
    assert signoff.is_active
    assert revoke_events() == []


def test_it_refuses_when_the_phase_was_never_signed_off(phase_2a, lead):
    with pytest.raises(Refused) as raised:
        revoke(phase_2a, lead)

    assert raised.value.message == "Phase 2A has no active signoff to revoke."
    assert revoke_events() == []


def test_it_refuses_to_revoke_a_signoff_twice(phase_2a, signoff, lead, admin_user):
    revoke(phase_2a, lead)

    with pytest.raises(Refused) as raised:
        revoke(phase_2a, admin_user, reason="Revoking again.")

    assert raised.value.message == "Phase 2A has no active signoff to revoke."
    signoff.refresh_from_db()
    assert (signoff.revoked_by, signoff.revoke_reason) == (lead, REASON)
    assert len(revoke_events()) == 1


def test_it_lets_the_phase_be_signed_off_anew_after_a_revocation(
    phase_2a, signoff, lead, admin_user, reviewer
):
    revoke(phase_2a, admin_user)

    second = signoff_sign(
        phase_id=phase_2a.pk,
        expected_fingerprint=fingerprint_of(phase_2a),
        comment="Again.",
        context=context_for(lead),
    )

    assert list(Signoff.objects.active()) == [second]
    assert Signoff.objects.filter(phase=phase_2a).count() == 2
    assert tick(first_2b_item(), reviewer).checked
