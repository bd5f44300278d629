"""Service accounts (the CI group): they read and tick, their ticks bar nobody from signing, and
they never sign."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from findings.models import ChecklistItem, Finding, Phase, Signoff, Status
from findings.roles import CI, SIGNOFF_LEAD
from findings.services.errors import Refused
from findings.services.signoffs import signoff_sign
from findings.signers import duty_problems, phase_signers
from tests.helpers import context_for
from tests.phase_work import fingerprint_of, make_ready, move, tick


@pytest.fixture
def ticked_by_ci_2a(catalogue, ci_bot, reviewer):
    """Phase 2A ready to sign: every item ticked by the pipeline, the findings moved to done."""
    for item in ChecklistItem.objects.filter(finding__phase__code="2A"):
        tick(item, ci_bot)
    for code in Finding.objects.filter(phase__code="2A").values_list("code", flat=True):
        for target in (Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE):
            move(code, target, reviewer)
    return Phase.objects.get(code="2A")


def sign_as(user, phase: Phase) -> Signoff:
    return signoff_sign(
        phase_id=phase.pk,
        expected_fingerprint=fingerprint_of(phase),
        comment="Checked.",
        context=context_for(user),
    )


def test_a_service_accounts_ticks_bar_nobody_from_signing(ticked_by_ci_2a, ci_bot, lead):
    assert duty_problems(phase=ticked_by_ci_2a, user_ids=[ci_bot.pk, lead.pk]) == {}

    signoff = sign_as(lead, ticked_by_ci_2a)

    assert signoff.signed_by == lead


def test_a_service_account_is_never_named_a_signer(ticked_by_ci_2a, ci_bot, lead):
    ci_bot.groups.add(Group.objects.get(name=SIGNOFF_LEAD))

    signers = phase_signers(ticked_by_ci_2a)

    assert signers.eligible == [lead]
    assert ci_bot not in signers.barred


def test_a_service_account_cannot_sign(ticked_by_ci_2a, ci_bot):
    assert not ci_bot.has_perm("findings.sign_off_phase")

    with pytest.raises(PermissionDenied):
        sign_as(ci_bot, ticked_by_ci_2a)

    assert not Signoff.objects.exists()


def test_a_service_account_given_the_lead_role_still_cannot_sign(ticked_by_ci_2a, ci_bot):
    ci_bot.groups.add(Group.objects.get(name=SIGNOFF_LEAD))
    ci_bot = type(ci_bot).objects.get(pk=ci_bot.pk)

    with pytest.raises(Refused) as refused:
        sign_as(ci_bot, ticked_by_ci_2a)

    assert "service account" in refused.value.blockers[0]

    assert not Signoff.objects.exists()


def test_a_persons_own_ticks_still_bar_them(catalogue, lead, lead2):
    make_ready(lead)

    problems = duty_problems(phase=Phase.objects.get(code="2A"), user_ids=[lead.pk, lead2.pk])

    assert list(problems) == [lead.pk]


def test_a_service_account_may_read_and_tick_but_not_move_or_edit(ci_bot):
    assert ci_bot.groups.filter(name=CI).exists()
    assert ci_bot.has_perm("findings.view_finding")
    assert ci_bot.has_perm("findings.tick_checklistitem")
    for permission in ("change_finding_status", "edit_content", "add_apitoken"):
        assert not ci_bot.has_perm(f"findings.{permission}")
