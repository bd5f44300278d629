"""Ticking a checklist item: POST /checklist/<id>/ with the wanted state and the version seen."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from findings.models import AuditEvent, ChecklistItem, Finding, Phase, Signoff, Status
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_set
from findings.signers import tick_would_bar_signing
from tests.database_faults import reads_failing_after
from tests.phase_work import finish

HTMX = {"HX-Request": "true"}
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) pytest"
LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."


def item(code: str = "SI-001", position: int = 1) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code=code, position=position)


def tick_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__startswith="checklist_item."))


def post(client, target: ChecklistItem, data: dict, htmx: bool = True, headers=None):
    return client.post(
        f"/checklist/{target.pk}/",
        data,
        headers={**(HTMX if htmx else {}), "User-Agent": USER_AGENT, **(headers or {})},
    )


def tick(client, target: ChecklistItem, htmx: bool = True, headers=None, acknowledged=False):
    """Post what the page posts when its box is ticked: the hidden "false", then "true"; and,
    once the user has accepted that the tick bars them from signing, the page's acknowledgement.
    """
    data = {"checked": ["false", "true"], "version": str(target.version)}
    if acknowledged:
        data["acknowledged_signing_bar"] = "1"
    return post(client, target, data, htmx=htmx, headers=headers)


def untick(client, target: ChecklistItem, htmx: bool = True):
    return post(client, target, {"checked": "false", "version": str(target.version)}, htmx=htmx)


def sign_off_2a(by) -> Signoff:
    return Signoff.objects.create(
        phase=Phase.objects.get(code="2A"), signed_by=by, signed_at=timezone.now()
    )


def test_it_ticks_an_item_and_answers_htmx_with_the_item_and_the_progress(reviewer_client):
    target = item()

    response = tick(reviewer_client, target)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 200
    assert target.checked
    assert target.checked_by.username == "reviewer"
    assert target.version == 2
    assert "<html" not in content
    assert content.lstrip().startswith(
        f'<form id="item-{target.pk}" class="checklist-item is-checked"'
    )
    assert '<input type="hidden" name="version" value="2">' in content
    assert "ticked by reviewer" in content


def test_it_updates_the_progress_and_status_panel_out_of_band(reviewer_client):
    response = tick(reviewer_client, item())

    content = response.content.decode()
    assert '<div id="finding-progress" class="progress-block" hx-swap-oob="true">' in content
    assert "Checklist: 1 of 13 ticked" in content
    assert '<div id="phase-progress" class="progress-block" hx-swap-oob="true">' in content
    assert "Phase 2A: 0 of 3 findings done, 1 of 39 items ticked" in content
    assert re.search(r'<section id="status-panel"[^>]*hx-swap-oob="true"', content)


def test_it_clears_the_done_blockers_when_the_last_item_is_ticked(reviewer_client):
    Finding.objects.filter(code="SI-001").update(status=Status.IN_REVIEW)
    ChecklistItem.objects.filter(finding__code="SI-001", position__lt=13).update(
        checked=True, checked_at=timezone.now()
    )

    response = tick(reviewer_client, item(position=13))

    content = response.content.decode()
    assert "Checklist: 13 of 13 ticked" in content
    assert "Move to done</button>" in content
    assert "blockers-done" not in content


def test_it_answers_a_saved_tick_whose_redraw_fails_with_the_item_and_a_note(reviewer_client):
    target = item()

    # Reads fail once the change's savepoint is released: the tick is saved, its redraw fails.
    with reads_failing_after("RELEASE SAVEPOINT"):
        response = tick(reviewer_client, target)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 200
    assert target.checked
    assert len(tick_events()) == 1
    assert content.lstrip().startswith(
        f'<form id="item-{target.pk}" class="checklist-item is-checked"'
    )
    assert '<input type="hidden" name="version" value="2">' in content
    assert "Saved. The database did not answer" in content
    assert "hx-swap-oob" not in content


def test_it_redirects_a_plain_post_back_to_the_item(reviewer_client):
    target = item()

    response = tick(reviewer_client, target, htmx=False)

    assert response.status_code == 302
    assert response["Location"] == f"/findings/SI-001/#item-{target.pk}"
    target.refresh_from_db()
    assert target.checked


def test_it_unticks_an_item_when_only_the_hidden_false_is_sent(reviewer_client):
    target = checklist_item_set(
        item_id=item().pk,
        checked=True,
        expected_version=1,
        context=ActionContext.system("test"),
    )

    response = untick(reviewer_client, target)

    target.refresh_from_db()
    assert response.status_code == 200
    assert not target.checked
    assert target.checked_by is None
    assert target.checked_at is None
    assert target.version == 3
    assert 'class="checklist-item"' in response.content.decode()
    assert tick_events()[0].action == "checklist_item.unticked"


@pytest.mark.parametrize("persona", ["reviewer", "lead", "admin_user"])
def test_it_lets_every_role_that_ticks_tick(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))
    target = item()

    # The signoff lead and the admin hold the signoff permission: they acknowledge the bar.
    response = tick(client, target, acknowledged=persona != "reviewer")

    target.refresh_from_db()
    assert response.status_code == 200
    assert target.checked


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
@pytest.mark.parametrize("htmx", [True, False])
def test_it_refuses_roles_that_may_not_tick(client, catalogue, persona, htmx, request):
    client.force_login(request.getfixturevalue(persona))
    target = item()

    response = tick(client, target, htmx=htmx)

    target.refresh_from_db()
    assert response.status_code == 403
    # The fragment HTMX swaps in, or the page, must say why: which permission is missing.
    assert "permission &#x27;findings." in response.content.decode()
    assert not target.checked
    assert target.version == 1
    assert tick_events() == []


def test_it_refuses_a_viewer_before_reading_the_input(viewer_client):
    target = item()

    response = post(viewer_client, target, {"checked": "maybe", "version": "abc"})

    # Access first: someone who may not tick learns that, not what was wrong with the input.
    assert response.status_code == 403
    assert "permission &#x27;findings.tick_checklistitem&#x27;" in response.content.decode()


def test_it_shows_an_outsider_no_finding_content_when_refusing(client, outsider, catalogue):
    client.force_login(outsider)
    Finding.objects.filter(code="SI-001").update(problem_statement="Confidential detail.")

    response = tick(client, item(), htmx=False)

    assert response.status_code == 403
    assert "Confidential detail." not in response.content.decode()


def test_it_sends_anonymous_visitors_to_log_in_and_changes_nothing(client, catalogue):
    target = item()

    response = tick(client, target)

    target.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not target.checked
    assert tick_events() == []


def test_it_refuses_get(reviewer_client):
    response = reviewer_client.get(f"/checklist/{item().pk}/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_it_answers_404_for_an_item_it_does_not_know(reviewer_client):
    data = {"checked": "true", "version": "1"}

    assert reviewer_client.post("/checklist/999999/", data).status_code == 404
    assert reviewer_client.post("/checklist/99999999999999999999/", data).status_code == 404


@pytest.mark.parametrize(
    "data, field",
    [
        ({"checked": "true"}, "version"),
        ({"checked": "true", "version": ""}, "version"),
        ({"checked": "true", "version": "abc"}, "version"),
        ({"checked": "true", "version": "0"}, "version"),
        ({"checked": "true", "version": "-1"}, "version"),
        ({"checked": "true", "version": "1.5"}, "version"),
        ({"checked": "true", "version": "99999999999999999999"}, "version"),
        ({"checked": "maybe", "version": "1"}, "checked"),
        ({"checked": "TRUE", "version": "1"}, "checked"),
        ({"version": "1"}, "checked"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_it_refuses_input_it_does_not_understand(reviewer_client, data, field, htmx):
    target = item()

    response = post(reviewer_client, target, data, htmx=htmx)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 400
    assert f"The tick was not understood. {field}: " in content
    # HTMX shows the message in the fragment it swaps; a plain post, at the top of the page.
    assert ('role="alert"' if htmx else 'class="message error"') in content
    assert not target.checked
    assert target.version == 1
    assert tick_events() == []


@pytest.mark.parametrize("version", ["١", "１", "1_0", "+1", "𝟏"])
@pytest.mark.parametrize("htmx", [True, False])
def test_it_refuses_a_version_not_written_in_the_digits_0_to_9(reviewer_client, version, htmx):
    # int() reads "١" (Arabic-Indic one) as 1, the item's current version.
    target = item()

    response = post(reviewer_client, target, {"checked": "true", "version": version}, htmx=htmx)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 400
    assert (
        "The tick was not understood. version: Enter a whole number using only the digits 0-9."
        in content
    )
    assert not target.checked
    assert target.version == 1
    assert tick_events() == []


def test_it_refuses_a_locked_phase_naming_the_phase_it_waits_for(reviewer_client):
    target = item("BL-005")

    response = tick(reviewer_client, target)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 423
    assert f"BL-005 cannot be changed. {LOCKED_BY_2A}" in content
    assert content.lstrip().startswith(f'<form id="item-{target.pk}"')
    assert not target.checked
    assert tick_events() == []


def test_it_refuses_a_locked_phase_to_a_plain_post_with_the_page(reviewer_client):
    response = tick(reviewer_client, item("BL-005"), htmx=False)

    content = response.content.decode()
    assert response.status_code == 423
    assert "<html" in content
    assert f'<li class="message error">BL-005 cannot be changed. {LOCKED_BY_2A}</li>' in content


DONE_STAYS_TICKED = (
    "SI-001 is done, so every item of its checklist stays ticked: "
    "move SI-001 back to in review first."
)


def test_it_refuses_to_untick_an_item_of_a_done_finding_naming_the_way_forward(
    reviewer_client, reviewer
):
    finish("SI-001", reviewer)
    target = item()
    events_before = len(tick_events())

    response = untick(reviewer_client, target)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 422
    assert DONE_STAYS_TICKED in content
    assert content.lstrip().startswith(
        f'<form id="item-{target.pk}" class="checklist-item is-checked"'
    )
    assert target.checked
    assert len(tick_events()) == events_before


def test_it_refuses_a_plain_post_untick_of_a_done_finding_with_the_page_offering_the_move(
    reviewer_client, reviewer
):
    finish("SI-001", reviewer)
    target = item()

    response = untick(reviewer_client, target, htmx=False)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 422
    assert f'<li class="message error">{DONE_STAYS_TICKED}</li>' in content
    assert re.search(
        r'name="target" value="in_review">\s*<input type="hidden" name="version"', content
    )
    assert ">Move to in review</button>" in content
    assert target.checked
    assert Finding.objects.get(code="SI-001").status == Status.DONE


def test_it_ticks_a_later_phase_once_2a_is_signed_off(reviewer_client, lead):
    sign_off_2a(lead)
    target = item("BL-005")

    response = tick(reviewer_client, target)

    target.refresh_from_db()
    assert response.status_code == 200
    assert target.checked


def test_it_refuses_a_stale_version_naming_who_changed_the_item_and_when(reviewer_client, lead):
    seen = item()
    changed = checklist_item_set(
        item_id=seen.pk,
        checked=True,
        expected_version=1,
        context=ActionContext(actor=lead),
    )

    # The reviewer's page still shows the item unticked at version 1; unticking asks for a change.
    response = post(reviewer_client, seen, {"checked": "false", "version": "1"})

    content = response.content.decode()
    when = timezone.localtime(AuditEvent.objects.get(action="checklist_item.ticked").created_at)
    assert response.status_code == 409
    assert f"lead ticked this item at {when:%Y-%m-%d %H:%M:%S} UTC, after your page loaded." in (
        content
    )
    assert "Your change was not applied" in content
    # The fragment shows the item as it is now, with the version to retry with.
    assert 'class="checklist-item is-checked"' in content
    assert '<input type="hidden" name="version" value="2">' in content
    changed.refresh_from_db()
    assert changed.checked
    assert changed.version == 2
    assert len(tick_events()) == 1


def test_it_takes_a_repeated_tick_as_done_without_a_second_event(reviewer_client):
    target = item()
    tick(reviewer_client, target)

    # A doubled click posts the same version again, asking for the state the item already has.
    response = tick(reviewer_client, target)

    target.refresh_from_db()
    assert response.status_code == 200
    assert target.version == 2
    assert len(tick_events()) == 1


def test_it_records_one_audit_event_with_the_request_id_ip_and_user_agent(reviewer_client):
    target = item()

    response = tick(reviewer_client, target)

    [event] = tick_events()
    assert event.action == "checklist_item.ticked"
    assert event.actor_username == "reviewer"
    assert event.object_id == str(target.pk)
    assert event.finding.code == "SI-001"
    assert event.before == {"checked": False, "version": 1}
    assert event.after == {"checked": True, "version": 2}
    assert event.permission == "findings.tick_checklistitem"
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert event.request_id == response["X-Request-ID"]
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == USER_AGENT


def test_it_keeps_an_acceptable_incoming_request_id(reviewer_client):
    response = tick(reviewer_client, item(), headers={"X-Request-ID": "proxy-1234.abcd_EF"})

    assert response["X-Request-ID"] == "proxy-1234.abcd_EF"
    assert tick_events()[0].request_id == "proxy-1234.abcd_EF"


@pytest.mark.parametrize("incoming", ["short", "x" * 65, "has spaces in it", "semi;colon;id"])
def test_it_replaces_an_unacceptable_incoming_request_id(reviewer_client, incoming):
    response = tick(reviewer_client, item(), headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert tick_events()[0].request_id == response["X-Request-ID"]


def test_it_truncates_an_overlong_user_agent(reviewer_client):
    target = item()

    response = reviewer_client.post(
        f"/checklist/{target.pk}/",
        {"checked": "true", "version": "1"},
        headers=HTMX,
        HTTP_USER_AGENT="A" * 2000,
    )

    assert response.status_code == 200
    assert tick_events()[0].user_agent == "A" * 500


def test_it_refuses_a_post_without_the_csrf_token(reviewer, catalogue):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    target = item()
    client.get("/findings/SI-001/")

    response = tick(client, target)

    target.refresh_from_db()
    assert response.status_code == 403
    assert not target.checked
    assert tick_events() == []


def test_it_accepts_the_csrf_token_htmx_sends_from_the_body(reviewer, catalogue):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    target = item()
    page = client.get("/findings/SI-001/").content.decode()
    [token] = re.findall(r"<body hx-headers='\{\"x-csrftoken\": \"([^\"]+)\"\}'>", page)

    response = tick(client, target, headers={"X-CSRFToken": token})

    target.refresh_from_db()
    assert response.status_code == 200
    assert target.checked


@pytest.fixture
def lead_client(client, lead, catalogue):
    client.force_login(lead)
    return client


def test_it_asks_a_signoff_lead_to_confirm_a_plain_tick_that_bars_them_from_signing(lead_client):
    target = item()

    response = tick(lead_client, target, htmx=False)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 200
    assert "<html" in content
    # The label's backticks render as code, as on the finding page.
    assert "Ticking “<code>go test ./... -race</code> passes with zero data races” bars you" in (
        content
    )
    assert f'action="/checklist/{target.pk}/"' in content
    assert '<input type="hidden" name="checked" value="true">' in content
    assert '<input type="hidden" name="version" value="1">' in content
    assert '<input type="hidden" name="acknowledged_signing_bar" value="1">' in content
    assert '<button type="submit">Tick and give up signing 2A</button>' in content
    assert "hx-post" not in content.split('class="tick-confirmation"')[1].split(">")[0]
    assert not target.checked
    assert tick_events() == []


def test_it_ticks_for_a_signoff_lead_who_confirmed_without_javascript(lead_client):
    target = item()

    response = tick(lead_client, target, htmx=False, acknowledged=True)

    target.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/findings/SI-001/#item-{target.pk}"
    assert target.checked
    assert target.checked_by.username == "lead"


def test_it_answers_an_unacknowledged_htmx_tick_with_the_question_in_the_items_place(
    lead_client,
):
    target = item()

    response = tick(lead_client, target)

    content = response.content.decode()
    target.refresh_from_db()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith(f'<form id="item-{target.pk}" class="tick-confirmation"')
    assert f'hx-post="/checklist/{target.pk}/"' in content
    assert "Tick and give up signing 2A</button>" in content
    assert not target.checked
    assert tick_events() == []


def test_it_never_asks_before_an_untick(lead_client, lead):
    target = checklist_item_set(
        item_id=item().pk, checked=True, expected_version=1, context=ActionContext(actor=lead)
    )

    response = untick(lead_client, target, htmx=False)

    target.refresh_from_db()
    assert response.status_code == 302
    assert not target.checked


def test_it_does_not_ask_a_reviewer_who_cannot_sign(reviewer_client):
    response = tick(reviewer_client, item(), htmx=False)

    assert response.status_code == 302
    assert item().checked


def test_it_does_not_ask_when_separation_of_duties_is_not_strict(lead_client, settings):
    settings.SIGNOFF_STRICT_SEPARATION = False

    response = tick(lead_client, item(), htmx=False)

    assert response.status_code == 302
    assert item().checked


def test_it_does_not_ask_in_a_phase_without_a_signoff_gate(lead_client, lead):
    sign_off_2a(lead)

    response = tick(lead_client, item("BL-005"), htmx=False)

    assert response.status_code == 302
    assert item("BL-005").checked


def test_it_refuses_a_viewer_before_asking(viewer_client):
    response = tick(viewer_client, item(), htmx=False)

    assert response.status_code == 403
    assert "Tick and give up signing" not in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "phase_code", "strict", "signed", "bars"),
    [
        ("lead", "2A", True, False, True),
        ("admin_user", "2A", True, False, True),
        ("reviewer", "2A", True, False, False),
        ("lead", "2A", False, False, False),
        ("lead", "2A", True, True, False),
        ("lead", "2B", True, False, False),
        ("lead", None, True, False, False),
    ],
)
def test_tick_would_bar_signing_only_a_signer_in_an_unsigned_gate_under_strict_separation(
    catalogue, settings, request, persona, phase_code, strict, signed, bars
):
    settings.SIGNOFF_STRICT_SEPARATION = strict
    user = request.getfixturevalue(persona)
    if signed:
        sign_off_2a(request.getfixturevalue("lead"))
    phase = Phase.objects.get(code=phase_code) if phase_code else None

    assert tick_would_bar_signing(user, phase) is bars
    assert tick_would_bar_signing(user, phase, signed=signed) is bars


def test_it_redraws_the_history_with_the_tick_out_of_band(reviewer_client):
    target = item()

    response = tick(reviewer_client, target)

    content = response.content.decode()
    history = re.search(
        r'<section id="finding-history"[^>]*hx-swap-oob="true">(.*?)</section>', content, re.S
    )
    assert history
    assert (
        '<strong>reviewer</strong> <span class="audit-action" data-action="checklist_item.ticked"'
        in (history.group(1))
    )
