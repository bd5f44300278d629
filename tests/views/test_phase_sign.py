"""Signing a phase off: GET `/phases/<code>/signoff/` shows what a signoff would approve and
asks to confirm; POST records it, from the confirmation page or from HTMX in the phase page.
"""

import re

import pytest
from django.utils.html import escape

from findings.models import Finding, Phase, Signoff, Status
from findings.services.checklist import checklist_item_save
from findings.services.findings import finding_update
from tests.helpers import context_for
from tests.phase_work import fingerprint_of, make_ready, move, tick
from tests.views.phase_gate import (
    COMMENT,
    HTMX,
    OWNER_REASON,
    TICKER_REASON,
    fingerprint_shown,
    item_of,
    page,
    signoff_events,
)

CONFIRM_FORM = '<form method="post" action="/phases/2A/signoff/"'


def signed(phase) -> dict:
    """A signoff's form as the confirmation of the phase's content now would post it."""
    return {"comment": COMMENT, "fingerprint": fingerprint_of(phase)}


# GET /phases/<code>/signoff/


def test_it_shows_the_findings_item_count_and_fingerprint_to_confirm(client, ready_2a, lead):
    html = page(client, lead, "/phases/2A/signoff/")

    assert "<h1>Sign off phase 2A · Foundation</h1>" in html
    rows = re.findall(r"<tr><td class=\"code\">(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", html)
    assert [(code, status) for code, _title, status in rows] == [
        ("BF-002", "Done"),
        ("SI-001", "Done"),
        ("SI-002", "Done"),
    ]
    titles = dict(Finding.objects.filter(phase=ready_2a).values_list("code", "title"))
    assert [title for _code, title, _status in rows] == [
        escape(titles[code]) for code, _title, _status in rows
    ]
    assert "3 findings with 39 checklist items." in html
    fingerprint = fingerprint_of(ready_2a)
    assert f"Content fingerprint <code>{fingerprint}</code>" in html
    assert fingerprint_shown(html) == fingerprint
    assert CONFIRM_FORM + ">" in html
    assert "hx-post" not in html[html.index(CONFIRM_FORM) :]
    assert '<button type="submit">Confirm signoff</button>' in html
    assert '<a href="/phases/2A/">Cancel</a>' in html
    assert not Signoff.objects.exists()


def test_it_answers_an_htmx_get_with_only_the_confirmation_fragment(client, ready_2a, lead):
    client.force_login(lead)

    response = client.get("/phases/2A/signoff/", **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="signoff-confirmation"')
    assert "<html" not in html
    assert fingerprint_shown(html) == fingerprint_of(ready_2a)
    assert 'hx-post="/phases/2A/signoff/" hx-target="#phase-gate" hx-swap="outerHTML"' in html


def test_it_links_the_phase_page_to_the_confirmation(client, ready_2a, lead):
    html = page(client, lead)

    assert (
        '<p id="signoff-confirmation"><a href="/phases/2A/signoff/"\n'
        '    hx-get="/phases/2A/signoff/" hx-target="#signoff-confirmation" hx-swap="outerHTML">'
        "Sign off phase 2A</a></p>"
    ) in html


def test_it_explains_instead_of_confirming_when_the_phase_is_not_ready(client, phase_2a, lead):
    html = page(client, lead, "/phases/2A/signoff/")

    assert "You cannot sign phase 2A off now." in html
    assert "<li>Phase 2A is not ready to sign off.</li>" in html
    assert "<li>BF-002 is planned, not done.</li>" in html
    assert "Confirm signoff" not in html
    assert 'name="fingerprint"' not in html


def test_it_tells_a_barred_lead_why_and_who_can_instead_of_confirming(
    client, phase_2a, reviewer, lead, admin_user
):
    tick(item_of("SI-002", 1), lead)
    make_ready(reviewer)

    html = page(client, lead, "/phases/2A/signoff/")

    assert f"<li>{TICKER_REASON} someone else must sign it off.</li>" in html
    assert "<p>admin can.</p>" in html
    assert "Confirm signoff" not in html


def test_it_says_a_signed_phase_is_signed_instead_of_confirming(client, signoff, admin_user):
    html = page(client, admin_user, "/phases/2A/signoff/")

    assert "<li>Phase 2A is already signed off.</li>" in html
    assert "Confirm signoff" not in html


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "outsider"])
def test_it_forbids_the_confirmation_to_users_without_the_permission(
    client, ready_2a, persona, request
):
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/phases/2A/signoff/").status_code == 403


def test_it_answers_404_for_the_confirmation_of_an_unknown_phase(client, catalogue, lead):
    client.force_login(lead)

    assert client.get("/phases/9Z/signoff/").status_code == 404


# POST /phases/<code>/signoff/


def test_it_signs_through_the_confirmation_page_without_javascript(client, ready_2a, lead):
    confirmation = page(client, lead, "/phases/2A/signoff/")

    response = client.post(
        "/phases/2A/signoff/",
        {"comment": COMMENT, "fingerprint": fingerprint_shown(confirmation)},
        follow=True,
    )

    assert response.redirect_chain == [("/phases/2A/", 302)]
    html = response.content.decode()
    assert "Phase 2A is signed off." in html
    assert "Signed off by <strong>lead</strong>" in html
    signoff = Signoff.objects.active().get()
    assert signoff.fingerprint == fingerprint_shown(confirmation)


def test_it_refuses_a_fingerprint_gone_stale_and_shows_the_new_confirmation(
    client, ready_2a, lead, admin_user
):
    confirmation = page(client, lead, "/phases/2A/signoff/")
    shown = fingerprint_shown(confirmation)
    finding = Finding.objects.get(code="SI-001")
    finding.rollback_sql += "\n-- rehearsed again"
    finding_update(finding=finding, context=context_for(admin_user))

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT, "fingerprint": shown})

    assert response.status_code == 409
    html = response.content.decode()
    current = fingerprint_of(ready_2a)
    assert current != shown
    assert f"Phase 2A changed since you reviewed it: its content fingerprint is now {current}." in (
        html
    )
    assert fingerprint_shown(html) == current
    assert escape(COMMENT) in html
    assert not Signoff.objects.exists()
    assert signoff_events() == []


def test_it_refuses_an_htmx_sign_after_an_item_changed_and_reopens_the_confirmation(
    client, ready_2a, lead, admin_user
):
    client.force_login(lead)
    shown = fingerprint_shown(client.get("/phases/2A/signoff/", **HTMX).content.decode())
    # An admin moves an item down its checklist: it keeps its tick, so the phase stays ready.
    item = item_of("SI-002", 13)
    item.position = 14
    checklist_item_save(item=item, context=context_for(admin_user))

    response = client.post(
        "/phases/2A/signoff/", {"comment": COMMENT, "fingerprint": shown}, **HTMX
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="phase-gate"')
    assert "Phase 2A changed since you reviewed it" in html
    assert '<section id="signoff-confirmation"' in html
    assert fingerprint_shown(html) == fingerprint_of(ready_2a) != shown
    assert not Signoff.objects.exists()
    assert signoff_events() == []


def test_it_refuses_a_post_without_a_fingerprint_naming_the_field(client, ready_2a, lead):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT})

    assert response.status_code == 400
    assert "fingerprint: This field is required." in response.content.decode()
    assert not Signoff.objects.exists()
    assert signoff_events() == []


@pytest.mark.parametrize("fingerprint", ["abc", "G" * 64, "A" * 64, "0" * 65])
def test_it_refuses_a_malformed_fingerprint(client, ready_2a, lead, fingerprint):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", {"comment": COMMENT, "fingerprint": fingerprint})

    assert response.status_code == 400
    assert "fingerprint: A content fingerprint is 64 lowercase hexadecimal digits." in (
        response.content.decode()
    )
    assert not Signoff.objects.exists()


def test_it_signs_a_ready_phase_and_redirects_to_the_page(client, ready_2a, lead):
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", signed(ready_2a))

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

    response = client.post("/phases/2A/signoff/", signed(ready_2a), **HTMX)

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

    response = client.post("/phases/2A/signoff/", {"fingerprint": fingerprint_of(ready_2a), **data})

    assert response.status_code == 400
    assert "comment:" in response.content.decode()
    assert not Signoff.objects.exists()
    assert signoff_events() == []


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "outsider"])
def test_it_forbids_signing_to_users_without_the_permission(client, ready_2a, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = client.post("/phases/2A/signoff/", signed(ready_2a))

    assert response.status_code == 403
    assert not Signoff.objects.exists()
    assert signoff_events() == []


@pytest.mark.parametrize("persona", ["viewer", "reviewer"])
def test_it_forbids_an_htmx_sign_to_users_without_the_permission(
    client, ready_2a, persona, request
):
    client.force_login(request.getfixturevalue(persona))

    response = client.post("/phases/2A/signoff/", signed(ready_2a), **HTMX)

    assert response.status_code == 403
    assert 'role="alert"' in response.content.decode()
    assert not Signoff.objects.exists()


def test_it_refuses_an_owners_crafted_post_with_the_reason_and_audits_it(
    client, phase_2a, reviewer, lead
):
    Finding.objects.filter(code="SI-001").update(owner=lead)
    make_ready(reviewer)
    client.force_login(lead)

    response = client.post("/phases/2A/signoff/", signed(phase_2a))

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

    response = client.post("/phases/2A/signoff/", signed(ready_2a), **HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "Phase 2A is not ready to sign off." in html
    assert escape(f"BF-002: “{item.text}” is not ticked.") in html
    assert not Signoff.objects.exists()


def test_it_refuses_a_second_signoff(client, signoff, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/phases/2A/signoff/", {"comment": "Me too.", "fingerprint": signoff.fingerprint}
    )

    assert response.status_code == 422
    assert "Phase 2A is already signed off." in response.content.decode()
    assert list(Signoff.objects.all()) == [signoff]


def test_it_refuses_signing_a_phase_without_a_gate(client, catalogue, lead):
    client.force_login(lead)

    response = client.post("/phases/2B/signoff/", signed(Phase.objects.get(code="2B")))

    assert response.status_code == 422
    assert "Phase 2B has no signoff gate." in response.content.decode()
    assert not Signoff.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_it_refuses_other_methods_on_the_sign_endpoint(client, ready_2a, lead, method):
    client.force_login(lead)

    assert getattr(client, method)("/phases/2A/signoff/").status_code == 405
    assert not Signoff.objects.exists()


def test_it_answers_404_when_signing_an_unknown_phase(client, catalogue, lead):
    client.force_login(lead)

    assert client.post("/phases/9Z/signoff/", {"comment": COMMENT}).status_code == 404


def test_it_sends_an_anonymous_sign_to_log_in(client, ready_2a):
    response = client.post("/phases/2A/signoff/", signed(ready_2a))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Signoff.objects.exists()
