"""The phase news the services queue: ready to sign, signoff requested, signed, revoked."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from findings.models import (
    Finding,
    Notification,
    NotificationKind,
    NotificationSetting,
    Phase,
    Status,
)
from findings.services.checklist import checklist_item_set
from findings.services.errors import Refused
from findings.services.signoff_requests import signoff_request
from findings.services.signoffs import signoff_revoke, signoff_sign
from tests.helpers import context_for
from tests.notifications.team import (
    finish_all_but_the_last_move,
    recipients,
    second_lead,
    with_email,
)
from tests.phase_work import fingerprint_of, item_of, make_ready, move, tick

READY = NotificationKind.READY_TO_SIGN
REASON = "The SI-001 migration locks the accounts table for minutes."


@pytest.fixture
def team(catalogue, reviewer, lead, admin_user):
    """reviewer, lead and admin with email addresses, and lead2; admin holds every permission."""
    for user in (reviewer, lead, admin_user):
        with_email(user)
    return {"lead2": second_lead()}


@pytest.fixture
def phase_2a(catalogue) -> Phase:
    return Phase.objects.get(code="2A")


@pytest.fixture
def owner(team):
    """A user with email who owns SI-001 and has no role."""
    user = with_email(get_user_model().objects.create_user("owner"))
    Finding.objects.filter(code="SI-001").update(owner=user)
    return user


def sign(phase: Phase, user):
    return signoff_sign(
        phase_id=phase.pk,
        expected_fingerprint=fingerprint_of(phase),
        comment="Ran every 2A migration and its rollback.",
        context=context_for(user),
    )


# A phase became ready to sign.


def test_it_tells_the_eligible_signers_once_the_last_of_the_work_makes_2a_ready(
    team, phase_2a, reviewer, lead, settings
):
    settings.SITE_URL = "https://tracker.example.org"
    # lead's tick stands in 2A, which bars them from signing it.
    tick(item_of("SI-001", 1), lead)
    last = finish_all_but_the_last_move(reviewer)
    assert recipients(READY) == []

    move(last, Status.DONE, reviewer)

    assert recipients(READY) == ["admin", "lead2"]
    message = Notification.objects.filter(kind=READY).first()
    assert message.subject == "Phase 2A is ready to sign off"
    assert message.phase == phase_2a
    assert message.body.endswith("\n\nhttps://tracker.example.org/phases/2A/\n")
    phase_2a.refresh_from_db()
    assert phase_2a.ready_announced_at is not None


def test_it_queues_nothing_for_a_tick_in_a_phase_that_is_not_ready(team, reviewer):
    tick(item_of("SI-001", 1), reviewer)

    assert Notification.objects.count() == 0


def test_it_does_not_tell_again_while_the_phase_stays_ready(team, phase_2a, reviewer):
    make_ready(reviewer)
    item = item_of("SI-001", 1)

    # Asking for the state the item already has changes nothing but ends like every change.
    checklist_item_set(
        item_id=item.pk, checked=True, expected_version=item.version, context=context_for(reviewer)
    )

    assert recipients(READY) == ["admin", "lead", "lead2"]


def test_it_tells_again_when_work_undone_is_redone(team, phase_2a, reviewer):
    make_ready(reviewer)
    move("SI-001", Status.IN_REVIEW, reviewer)
    tick(item_of("SI-001", 1), reviewer, checked=False)
    phase_2a.refresh_from_db()
    assert phase_2a.ready_announced_at is None

    tick(item_of("SI-001", 1), reviewer)
    assert recipients(READY) == ["admin", "lead", "lead2"]
    move("SI-001", Status.DONE, reviewer)

    assert recipients(READY) == ["admin", "admin", "lead", "lead", "lead2", "lead2"]


def test_it_skips_users_without_email_and_users_who_turned_the_kind_off(
    team, reviewer, lead, admin_user
):
    lead.email = ""
    lead.save(update_fields=["email"])
    NotificationSetting.objects.create(user=admin_user, kind=READY, enabled=False)
    NotificationSetting.objects.create(
        user=team["lead2"], kind=NotificationKind.SIGNED, enabled=False
    )

    make_ready(reviewer)

    assert recipients(READY) == ["lead2"]


def test_it_queues_nothing_when_the_change_rolls_back(team, phase_2a, reviewer):
    last = finish_all_but_the_last_move(reviewer)

    with pytest.raises(RuntimeError), transaction.atomic():
        move(last, Status.DONE, reviewer)
        assert Notification.objects.count() == 3
        raise RuntimeError("the request failed after the change")

    assert Notification.objects.count() == 0
    phase_2a.refresh_from_db()
    assert phase_2a.ready_announced_at is None


# Signoff requested.


def test_it_asks_the_eligible_signers_naming_who_asked(team, phase_2a, reviewer, lead):
    tick(item_of("SI-001", 1), lead)
    make_ready(reviewer)
    Notification.objects.all().delete()

    asked = signoff_request(phase_id=phase_2a.pk, context=context_for(reviewer))

    assert [user.get_username() for user in asked] == ["admin", "lead2"]
    assert recipients(NotificationKind.SIGNOFF_REQUESTED) == ["admin", "lead2"]
    message = Notification.objects.get(recipient=team["lead2"])
    assert message.subject == "reviewer requests the signoff of phase 2A"
    assert "reviewer asks you to sign off phase 2A Foundation" in message.body


def test_it_refuses_a_request_from_a_command(team, phase_2a, reviewer, system_context):
    make_ready(reviewer)

    with pytest.raises(Refused, match="a command cannot make one"):
        signoff_request(phase_id=phase_2a.pk, context=system_context)


# Signed and revoked.


def test_it_tells_owners_tickers_and_leads_of_a_signoff_but_not_the_signer(
    team, owner, phase_2a, reviewer, lead, viewer
):
    make_ready(reviewer)

    signoff = sign(phase_2a, lead)

    assert recipients(NotificationKind.SIGNED) == ["admin", "lead2", "owner", "reviewer"]
    message = Notification.objects.get(kind=NotificationKind.SIGNED, recipient=owner)
    assert message.subject == "lead signed off phase 2A"
    assert f"{signoff.signed_at:%Y-%m-%d %H:%M} UTC" in message.body
    assert "Ran every 2A migration and its rollback." in message.body


def test_it_tells_of_a_signoff_revoked_by_hand_all_but_who_revoked_it(
    team, owner, phase_2a, reviewer, lead
):
    make_ready(reviewer)
    sign(phase_2a, lead)

    signoff_revoke(phase_id=phase_2a.pk, reason=REASON, context=context_for(team["lead2"]))

    assert recipients(NotificationKind.REVOKED) == ["admin", "lead", "owner", "reviewer"]
    message = Notification.objects.get(kind=NotificationKind.REVOKED, recipient=lead)
    assert message.subject == "lead2 revoked the signoff of phase 2A"
    assert f"Reason: {REASON}" in message.body
    # The phase is as ready as when it was announced: the revocation's message is the news.
    assert recipients(READY) == ["admin", "lead", "lead2"]


def test_it_tells_of_a_signoff_revoked_automatically_with_what_changed(
    team, owner, phase_2a, reviewer, lead
):
    make_ready(reviewer)
    sign(phase_2a, lead)

    move("SI-001", Status.IN_REVIEW, reviewer)

    assert recipients(NotificationKind.REVOKED) == [
        "admin",
        "lead",
        "lead2",
        "owner",
        "reviewer",
    ]
    message = Notification.objects.get(kind=NotificationKind.REVOKED, recipient=lead)
    assert message.subject == "The signoff of phase 2A was revoked automatically"
    assert "The approved content changed: SI-001: status done → in_review." in message.body
