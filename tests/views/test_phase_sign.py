"""Signing a phase off: POST `/phases/<code>/signoff/`, from a form or HTMX."""

import pytest
from django.utils.html import escape

from findings.models import Finding, Signoff, Status
from tests.phase_work import make_ready, move, tick
from tests.views.phase_gate import (
    COMMENT,
    HTMX,
    OWNER_REASON,
    item_of,
    signoff_events,
)

# POST /phases/<code>/signoff/


def test_it_signs_a_ready_phase_and_redirects_to_the_page(client, ready_2a, lead):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT})

    assert response.status_code == 302
    assert response["Location"] == "/phases/2A/"
    signoff = Signoff.objects.active().get()
    assert (signoff.signed_by, signoff.comment) == (lead, COMMENT)
    [event] = signoff_events()
    assert (event.action, event.actor, event.permission) == (
        "phase.signed_off",
        lead,
        "findings.sign_off_phase",
    )
    assert "Phase 2A is signed off." in client.get("/phases/2A/").content.decode()


def test_it_answers_an_htmx_sign_with_the_gate_fragment(client, ready_2a, lead):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="phase-gate"')
    assert "<html" not in html
    assert "Phase 2A is signed off." in html
    assert "Signed off by <strong>lead</strong>" in html
    assert Signoff.objects.active().count() == 1


@pytest.mark.parametrize(
    "data", [{}, {"comment": ""}, {"comment": "  \n "}, {"comment": "x" * 2001}]
)
def test_it_refuses_a_missing_or_bad_comment_and_changes_nothing(client, ready_2a, lead, data):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", data)

    assert response.status_code == 400
    assert "comment:" in response.content.decode()
    assert not Signoff.objects.exists()
    assert signoff_events() == []


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "outsider"])
def test_it_forbids_signing_to_users_without_the_permission(client, ready_2a, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT})

    assert response.status_code == 403
    assert not Signoff.objects.exists()
    assert signoff_events() == []


@pytest.mark.parametrize("persona", ["viewer", "reviewer"])
def test_it_forbids_an_htmx_sign_to_users_without_the_permission(
    client, ready_2a, persona, request
):
    client.force_login(request.getfixturevalue(persona))

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT}, **HTMX)

    assert response.status_code == 403
    assert 'role="alert"' in response.content.decode()
    assert not Signoff.objects.exists()


def test_it_refuses_an_owners_crafted_post_with_the_reason_and_audits_it(
    client, phase_2a, reviewer, lead
):
    Finding.objects.filter(code="SI-001").update(owner=lead)
    make_ready(reviewer)
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT})

    assert response.status_code == 422
    assert OWNER_REASON in response.content.decode()
    assert not Signoff.objects.exists()
    [event] = signoff_events()
    assert (event.action, event.actor) == ("phase.signoff_refused", lead)


def test_it_refuses_signing_a_phase_that_is_not_ready_naming_the_blockers(
    client, ready_2a, reviewer, lead
):
    item = item_of("BF-002", 7)
    move("BF-002", Status.IN_REVIEW, reviewer)
    tick(item, reviewer, checked=False)
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT}, **HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "Phase 2A is not ready to sign off." in html
    assert escape(f"BF-002: “{item.text}” is not ticked.") in html
    assert not Signoff.objects.exists()


def test_it_refuses_a_second_signoff(client, signoff, admin_user):
    client.force_login(admin_user)

    response = client.post("/phases/2A/signoff/", {"comment": "Me too."})

    assert response.status_code == 422
    assert "Phase 2A is already signed off." in response.content.decode()
    assert list(Signoff.objects.all()) == [signoff]


def test_it_refuses_signing_a_phase_without_a_gate(client, catalogue, lead):
    client.force_login(lead)

    response = client.post("/phases/2B/signoff/", {"comment": COMMENT})

    assert response.status_code == 422
    assert "Phase 2B has no signoff gate." in response.content.decode()
    assert not Signoff.objects.exists()


def test_it_refuses_a_get_of_the_sign_endpoint(client, ready_2a, lead):
    client.force_login(lead)

    assert client.get("/phases/2A/signoff/").status_code == 405
    assert not Signoff.objects.exists()


def test_it_answers_404_when_signing_an_unknown_phase(client, catalogue, lead):
    client.force_login(lead)

    assert client.post("/phases/9Z/signoff/", {"comment": COMMENT}).status_code == 404


def test_it_sends_an_anonymous_sign_to_log_in(client, ready_2a):
    response = client.post("/phases/2A/signoff/", {"comment": COMMENT})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Signoff.objects.exists()
