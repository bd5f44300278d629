import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from findings.models import Phase, Signoff


@pytest.fixture
def phase(db):
    return Phase.objects.create(
        code="2A",
        name="Foundation",
        priority_band="CRITICAL",
        folder_name="phase_2a_foundation",
        order=1,
        requires_signoff=True,
    )


@pytest.fixture
def other_phase(db):
    return Phase.objects.create(
        code="2B", name="Security", priority_band="HIGH", folder_name="phase_2b_security", order=2
    )


def sign(phase: Phase, user) -> Signoff:
    return Signoff.objects.create(phase=phase, signed_by=user, signed_at=timezone.now())


def revoke(signoff: Signoff, user, reason: str) -> None:
    signoff.revoked_at = timezone.now()
    signoff.revoked_by = user
    signoff.revoke_reason = reason
    signoff.save()


def test_the_database_refuses_a_second_active_signoff_of_a_phase(phase, lead, admin_user):
    sign(phase, lead)

    with pytest.raises(IntegrityError), transaction.atomic():
        sign(phase, admin_user)

    assert Signoff.objects.filter(phase=phase).count() == 1


def test_it_allows_active_signoffs_of_different_phases(phase, other_phase, lead):
    sign(phase, lead)
    sign(other_phase, lead)

    assert Signoff.objects.active().count() == 2


def test_it_allows_a_new_signoff_once_the_first_is_revoked(phase, lead, admin_user):
    first = sign(phase, lead)
    revoke(first, admin_user, "Phase 2A reopened: SI-002 regressed.")

    second = sign(phase, admin_user)

    assert list(Signoff.objects.active()) == [second]
    assert Signoff.objects.filter(phase=phase).count() == 2
    first.refresh_from_db()
    assert not first.is_active
    assert second.is_active


def test_it_keeps_any_number_of_revoked_signoffs(phase, lead, admin_user):
    for attempt in range(3):
        revoke(sign(phase, lead), admin_user, f"Revoked, attempt {attempt}")

    assert Signoff.objects.filter(phase=phase).count() == 3
    assert not Signoff.objects.active().exists()


def test_the_database_refuses_a_revocation_without_a_reason(phase, lead, admin_user):
    signoff = sign(phase, lead)

    with pytest.raises(IntegrityError), transaction.atomic():
        revoke(signoff, admin_user, "")

    signoff.refresh_from_db()
    assert signoff.is_active


def test_validation_names_both_signoff_rules(phase, lead, admin_user):
    sign(phase, lead)
    duplicate = Signoff(phase=phase, signed_by=admin_user, signed_at=timezone.now())
    unexplained = Signoff(
        phase=phase,
        signed_by=lead,
        signed_at=timezone.now(),
        revoked_at=timezone.now(),
        revoked_by=admin_user,
    )

    with pytest.raises(ValidationError) as duplicate_raised:
        duplicate.full_clean()
    with pytest.raises(ValidationError) as unexplained_raised:
        unexplained.full_clean()

    assert "This phase already has an active signoff." in duplicate_raised.value.messages
    assert "A revocation needs a reason." in unexplained_raised.value.messages
