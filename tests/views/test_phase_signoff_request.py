"""POST /phases/<code>/signoff/request/: a reviewer asks the eligible signers to sign a phase."""

from datetime import timedelta

import pytest
from django.utils import timezone

from findings.models import AuditEvent, Notification, NotificationKind, Phase
from findings.services.signoffs import signoff_sign
from tests.helpers import context_for
from tests.notifications.team import recipients, second_lead, with_email
from tests.phase_work import fingerprint_of, item_of, make_ready, tick
from tests.views.phase_gate import HTMX, gate_of, page

URL = "/phases/2A/signoff/request/"
REQUEST_FORM = 'action="/phases/2A/signoff/request/"'
REQUESTED = NotificationKind.SIGNOFF_REQUESTED


@pytest.fixture
def team(catalogue, reviewer, lead, admin_user):
    for user in (reviewer, lead, admin_user):
        with_email(user)
    return {"lead2": second_lead()}


@pytest.fixture
def ready_2a(team, reviewer, lead) -> Phase:
    """2A ready to sign, with lead barred from signing it by a tick of theirs."""
    tick(item_of("SI-001", 1), lead)
    make_ready(reviewer)
    Notification.objects.all().delete()
    return Phase.objects.get(code="2A")


def requests() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="phase.signoff_requested"))


def test_it_asks_the_eligible_signers_and_redirects_a_plain_post(client, ready_2a, reviewer):
    client.force_login(reviewer)

    response = client.post(URL)

    assert response.status_code == 302
    assert response["Location"] == "/phases/2A/"
    assert recipients(REQUESTED) == ["admin", "lead2"]
    [event] = requests()
    assert event.actor == reviewer
    assert event.after == {"phase": "2A", "requested_from": ["admin", "lead2"]}
    assert "Signoff requested from admin, lead2." in client.get("/phases/2A/").content.decode()


def test_it_swaps_the_gate_panel_naming_whom_it_asked_for_htmx(client, ready_2a, reviewer):
    client.force_login(reviewer)

    response = client.post(URL, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="phase-gate"')
    assert "Signoff requested from admin, lead2." in content
    assert recipients(REQUESTED) == ["admin", "lead2"]


def test_it_lets_a_lead_who_may_not_sign_ask_the_others(client, ready_2a, lead):
    client.force_login(lead)

    response = client.post(URL, **HTMX)

    assert response.status_code == 200
    assert recipients(REQUESTED) == ["admin", "lead2"]


def test_it_refuses_a_phase_that_is_not_ready(client, team, reviewer):
    client.force_login(reviewer)

    response = client.post(URL, **HTMX)

    content = response.content.decode()
    assert response.status_code == 422
    assert "Phase 2A is not ready to sign off." in content
    assert Notification.objects.count() == 0
    assert requests() == []


def test_it_refuses_a_locked_phase(client, team, reviewer):
    client.force_login(reviewer)

    response = client.post("/phases/2C/signoff/request/", **HTMX)

    assert response.status_code == 422
    assert "Locked until phase 2A Foundation is signed off." in response.content.decode()
    assert requests() == []


def test_it_refuses_a_phase_already_signed(client, ready_2a, reviewer, team):
    signoff_sign(
        phase_id=ready_2a.pk,
        expected_fingerprint=fingerprint_of(ready_2a),
        comment="Checked.",
        context=context_for(team["lead2"]),
    )
    client.force_login(reviewer)

    response = client.post(URL, **HTMX)

    assert response.status_code == 422
    assert "Phase 2A is already signed off." in response.content.decode()
    assert requests() == []


def test_it_refuses_when_nobody_may_sign(client, ready_2a, reviewer, admin_user, team):
    for user in (admin_user, team["lead2"]):
        user.is_active = False
        user.save(update_fields=["is_active"])
    client.force_login(reviewer)

    response = client.post(URL)

    content = response.content.decode()
    assert response.status_code == 422
    assert "Nobody can be asked to sign off phase 2A." in content
    assert "every holder of the signoff lead role (lead) owns a" in content
    assert Notification.objects.count() == 0


def test_it_refuses_a_repeat_within_the_hour_naming_who_asked(client, ready_2a, reviewer, lead):
    client.force_login(reviewer)
    client.post(URL)
    first = timezone.localtime(requests()[0].created_at)
    client.force_login(lead)

    response = client.post(URL, **HTMX)

    assert response.status_code == 422
    assert f"already requested by reviewer at {first:%H:%M}" in response.content.decode()
    assert recipients(REQUESTED) == ["admin", "lead2"]
    assert len(requests()) == 1


def test_it_asks_again_once_the_hour_is_over(client, ready_2a, reviewer, monkeypatch):
    client.force_login(reviewer)
    client.post(URL)
    later = timezone.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    response = client.post(URL)

    assert response.status_code == 302
    assert recipients(REQUESTED) == ["admin", "admin", "lead2", "lead2"]


def test_it_forbids_a_viewer(client, ready_2a, viewer):
    client.force_login(viewer)

    response = client.post(URL, **HTMX)

    assert response.status_code == 403
    assert Notification.objects.count() == 0
    assert requests() == []


def test_it_answers_404_for_an_unknown_phase(client, ready_2a, reviewer):
    client.force_login(reviewer)

    assert client.post("/phases/9Z/signoff/request/").status_code == 404


def test_it_refuses_get(client, ready_2a, reviewer):
    client.force_login(reviewer)

    assert client.get(URL).status_code == 405


def test_it_offers_the_request_to_who_may_tick_but_not_sign_a_ready_phase(
    client, ready_2a, reviewer, lead, viewer, team
):
    assert REQUEST_FORM in gate_of(page(client, reviewer))
    assert REQUEST_FORM in gate_of(page(client, lead))
    assert REQUEST_FORM not in gate_of(page(client, team["lead2"]))
    assert REQUEST_FORM not in gate_of(page(client, viewer))


def test_it_does_not_offer_the_request_when_nobody_may_sign(
    client, ready_2a, reviewer, admin_user, team
):
    for user in (admin_user, team["lead2"]):
        user.is_active = False
        user.save(update_fields=["is_active"])

    gate = gate_of(page(client, reviewer))

    assert REQUEST_FORM not in gate
    assert "Nobody can sign it off" in gate


def test_it_does_not_offer_the_request_before_the_phase_is_ready(client, team, reviewer):
    assert REQUEST_FORM not in gate_of(page(client, reviewer))
