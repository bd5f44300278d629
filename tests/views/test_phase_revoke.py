"""Revoking a phase's signoff: POST `/phases/<code>/signoff/revoke/`, from a form or HTMX."""

import pytest

from findings.models import Signoff
from tests.views.phase_gate import (
    HTMX,
    REASON,
    SIGN_LINK,
    signoff_events,
)

# POST /phases/<code>/signoff/revoke/


def test_it_lets_a_lead_revoke_and_redirects_to_the_page(client, signoff, lead):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/revoke/", {"reason": REASON})

    assert response.status_code == 302
    assert response["Location"] == "/phases/2A/"
    signoff.refresh_from_db()
    assert (signoff.is_active, signoff.revoked_by, signoff.revoke_reason) == (False, lead, REASON)
    assert [event.action for event in signoff_events()] == [
        "phase.signed_off",
        "phase.signoff_revoked",
    ]
    assert "The signoff of phase 2A is revoked." in client.get("/phases/2A/").content.decode()


def test_it_answers_an_admins_htmx_revoke_with_the_gate_fragment(client, signoff, admin_user):
    client.force_login(admin_user)

    response = client.post("/phases/2A/signoff/revoke/", {"reason": REASON}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="phase-gate"')
    assert "The signoff of phase 2A is revoked." in html
    assert "revoked by admin" in html
    assert SIGN_LINK in html
    assert not Signoff.objects.active().exists()


@pytest.mark.parametrize("data", [{}, {"reason": ""}, {"reason": "   "}])
def test_it_refuses_a_revocation_without_a_reason(client, signoff, lead, data):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/revoke/", data)

    assert response.status_code == 400
    assert "reason:" in response.content.decode()
    signoff.refresh_from_db()
    assert signoff.is_active


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "outsider"])
def test_it_forbids_revoking_to_users_without_the_permission(client, signoff, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = client.post("/phases/2A/signoff/revoke/", {"reason": REASON})

    assert response.status_code == 403
    signoff.refresh_from_db()
    assert signoff.is_active


def test_it_refuses_revoking_when_nothing_is_signed(client, phase_2a, lead):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/revoke/", {"reason": REASON})

    assert response.status_code == 422
    assert "Phase 2A has no active signoff to revoke." in response.content.decode()


def test_it_refuses_a_get_of_the_revoke_endpoint(client, signoff, lead):
    client.force_login(lead)

    assert client.get("/phases/2A/signoff/revoke/").status_code == 405
    signoff.refresh_from_db()
    assert signoff.is_active
