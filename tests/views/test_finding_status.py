"""Moving a finding through its lifecycle: POST /findings/<code>/status/ with target and version."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from findings.models import AuditEvent, ChecklistItem, Finding, Phase, Signoff, Status
from findings.services.audit import ActionContext
from findings.services.dependencies import dependency_add
from findings.services.status import finding_status_set
from tests.database_faults import reads_failing_after

HTMX = {"HX-Request": "true"}
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) pytest"
LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."


def finding(code: str = "SI-001") -> Finding:
    return Finding.objects.get(code=code)


def status_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="finding.status_changed"))


def move(client, code: str, target: str, version="1", htmx: bool = True, headers=None):
    data = {"target": target}
    if version is not None:
        data["version"] = version
    return client.post(
        f"/findings/{code}/status/",
        data,
        headers={**(HTMX if htmx else {}), "User-Agent": USER_AGENT, **(headers or {})},
    )


def set_status(code: str, status: str) -> None:
    Finding.objects.filter(code=code).update(status=status)


def tick_all(code: str) -> None:
    ChecklistItem.objects.filter(finding__code=code).update(checked=True, checked_at=timezone.now())


def unchanged(code: str = "SI-001", status: str = Status.PLANNED, version: int = 1) -> bool:
    stored = finding(code)
    return stored.status == status and stored.version == version and status_events() == []


def test_it_moves_a_finding_and_answers_htmx_with_the_status_panel(reviewer_client):
    response = move(reviewer_client, "SI-001", "in_progress")

    content = response.content.decode()
    stored = finding()
    assert response.status_code == 200
    assert stored.status == Status.IN_PROGRESS
    assert stored.version == 2
    assert "<html" not in content
    assert content.lstrip().startswith('<section id="status-panel"')
    assert 'Status: <span class="status status-in_progress">In progress</span>' in content
    # The next move carries the new version.
    assert '<input type="hidden" name="version" value="2">' in content
    assert "Move to in review</button>" in content
    assert "Move to planned</button>" in content


def test_it_updates_the_phase_progress_out_of_band(reviewer_client):
    set_status("SI-001", Status.IN_REVIEW)
    tick_all("SI-001")

    response = move(reviewer_client, "SI-001", "done")

    content = response.content.decode()
    assert response.status_code == 200
    # The progress is redrawn inside the checklist; it and the history swap out of band.
    assert re.search(r'<section id="checklist"[^>]*hx-swap-oob="true"', content)
    assert re.search(r'<section id="finding-history"[^>]*hx-swap-oob="true"', content)
    assert content.count("hx-swap-oob") == 2
    assert '<div id="phase-progress"' in content
    assert "Phase 2A: 1 of 3 findings done, 13 of 39 items ticked" in content
    assert not re.search(r'<section id="status-panel"[^>]*hx-swap-oob', content)


def checkboxes(content: str) -> list[str]:
    return re.findall(r'<input type="checkbox"[^>]*>', content)


def test_it_redraws_the_checklist_disabled_with_the_reason_when_the_finding_is_done(
    reviewer_client,
):
    set_status("SI-001", Status.IN_REVIEW)
    tick_all("SI-001")

    response = move(reviewer_client, "SI-001", "done")

    content = response.content.decode()
    assert response.status_code == 200
    assert len(checkboxes(content)) == 13
    assert all(re.search(r"\sdisabled[\s>]", box) for box in checkboxes(content))
    assert "SI-001 is done: move it back to in review to change its checklist." in content
    assert "Move to in review</button>" in content


def test_it_redraws_the_checklist_enabled_when_the_finding_is_back_in_review(reviewer_client):
    set_status("SI-001", Status.DONE)
    tick_all("SI-001")

    response = move(reviewer_client, "SI-001", "in_review")

    content = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<section id="checklist"[^>]*hx-swap-oob="true"', content)
    assert len(checkboxes(content)) == 13
    assert not any("disabled" in box for box in checkboxes(content))
    assert "is done: move it back" not in content


@pytest.mark.parametrize("htmx", [True, False])
def test_it_refuses_to_move_a_finding_out_of_done_while_a_done_finding_depends_on_it(
    reviewer_client, admin_user, htmx
):
    dependency_add(
        finding=finding("BF-002"),
        depends_on=finding("SI-001"),
        context=ActionContext(actor=admin_user),
    )
    for code in ("SI-001", "BF-002"):
        set_status(code, Status.DONE)
        tick_all(code)

    response = move(reviewer_client, "SI-001", "in_review", htmx=htmx)

    content = response.content.decode()
    assert response.status_code == 422
    assert (
        "SI-001 cannot move to in review. BF-002 is done and depends on SI-001: "
        "move BF-002 back to in review first."
    ) in content
    assert finding().status == Status.DONE


def test_it_answers_a_saved_move_whose_redraw_fails_with_the_panel_and_a_note(reviewer_client):
    # Reads fail once the change's savepoint is released: the move is saved, its redraw fails.
    with reads_failing_after("RELEASE SAVEPOINT"):
        response = move(reviewer_client, "SI-001", "in_progress")

    content = response.content.decode()
    assert response.status_code == 200
    assert finding().status == Status.IN_PROGRESS
    assert len(status_events()) == 1
    assert content.lstrip().startswith('<section id="status-panel"')
    assert '<span class="status status-in_progress">In progress</span>' in content
    assert "Moved. The database did not answer" in content


def test_it_redirects_a_plain_post_to_the_finding(reviewer_client):
    response = move(reviewer_client, "SI-001", "in_progress", htmx=False)

    assert response.status_code == 302
    assert response["Location"] == "/findings/SI-001/"
    assert finding().status == Status.IN_PROGRESS


def test_it_moves_a_finding_back_one_step(reviewer_client):
    set_status("SI-001", Status.IN_REVIEW)

    response = move(reviewer_client, "SI-001", "in_progress")

    assert response.status_code == 200
    assert finding().status == Status.IN_PROGRESS


@pytest.mark.parametrize("persona", ["reviewer", "lead", "admin_user"])
def test_it_lets_every_role_that_moves_findings_move_them(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = move(client, "SI-001", "in_progress")

    assert response.status_code == 200
    assert finding().status == Status.IN_PROGRESS


@pytest.mark.parametrize("persona", ["viewer", "outsider"])
@pytest.mark.parametrize("htmx", [True, False])
def test_it_refuses_roles_that_may_not_move_findings(client, catalogue, persona, htmx, request):
    client.force_login(request.getfixturevalue(persona))

    response = move(client, "SI-001", "in_progress", htmx=htmx)

    assert response.status_code == 403
    # The fragment HTMX swaps in, or the page, must say why: which permission is missing.
    assert "permission &#x27;findings." in response.content.decode()
    assert unchanged()


def test_it_refuses_a_viewer_before_reading_the_input(client, viewer, catalogue):
    client.force_login(viewer)

    response = move(client, "SI-001", "bogus", version="abc")

    # Access first: someone who may not move findings learns that, not what was wrong in the input.
    assert response.status_code == 403
    assert "permission &#x27;findings.change_finding_status&#x27;" in response.content.decode()


def test_it_shows_an_outsider_no_finding_content_when_refusing(client, outsider, catalogue):
    client.force_login(outsider)
    Finding.objects.filter(code="SI-001").update(problem_statement="Confidential detail.")

    response = move(client, "SI-001", "in_progress", htmx=False)

    assert response.status_code == 403
    assert "Confidential detail." not in response.content.decode()


def test_it_sends_anonymous_visitors_to_log_in_and_changes_nothing(client, catalogue):
    response = move(client, "SI-001", "in_progress")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert unchanged()


def test_it_refuses_get(reviewer_client):
    response = reviewer_client.get("/findings/SI-001/status/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    "url", ["/findings/XX-999/status/", "/findings/si-001/status/", "/findings/SI-0%00/status/"]
)
def test_it_answers_404_for_a_finding_it_does_not_know(reviewer_client, url):
    reviewer_client.raise_request_exception = False

    response = reviewer_client.post(url, {"target": "in_progress", "version": "1"})

    assert response.status_code == 404
    assert unchanged()


@pytest.mark.parametrize(
    "target, version, field",
    [
        ("completed", "1", "target"),
        ("bogus", "1", "target"),
        ("", "1", "target"),
        ("IN_PROGRESS", "1", "target"),
        ("in_progress", None, "version"),
        ("in_progress", "abc", "version"),
        ("in_progress", "0", "version"),
        ("in_progress", "99999999999999999999", "version"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_it_refuses_input_it_does_not_understand(reviewer_client, target, version, field, htmx):
    response = move(reviewer_client, "SI-001", target, version=version, htmx=htmx)

    content = response.content.decode()
    assert response.status_code == 400
    assert f"The status change was not understood. {field}: " in content
    # HTMX shows the message in the fragment it swaps; a plain post, at the top of the page.
    assert ('role="alert"' if htmx else 'class="message error"') in content
    assert unchanged()


@pytest.mark.parametrize("version", ["١", "１", "1_0", "+1", "𝟏"])
@pytest.mark.parametrize("htmx", [True, False])
def test_it_refuses_a_version_not_written_in_the_digits_0_to_9(reviewer_client, version, htmx):
    # int() reads "١" (Arabic-Indic one) as 1, the finding's current version.
    response = move(reviewer_client, "SI-001", "in_progress", version=version, htmx=htmx)

    content = response.content.decode()
    assert response.status_code == 400
    assert (
        "The status change was not understood. "
        "version: Enter a whole number using only the digits 0-9."
    ) in content
    assert unchanged()


def test_it_refuses_a_locked_phase_naming_the_phase_it_waits_for(reviewer_client):
    response = move(reviewer_client, "BL-005", "in_progress")

    content = response.content.decode()
    assert response.status_code == 423
    assert content.lstrip().startswith('<section id="status-panel"')
    assert f"BL-005 cannot be changed. {LOCKED_BY_2A}" in content
    assert unchanged("BL-005")


def test_it_moves_a_later_phase_once_2a_is_signed_off(reviewer_client, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"), signed_by=lead, signed_at=timezone.now()
    )

    response = move(reviewer_client, "BL-005", "in_progress")

    assert response.status_code == 200
    assert finding("BL-005").status == Status.IN_PROGRESS


def test_it_refuses_a_stale_version_with_the_current_state(reviewer_client, lead):
    finding_status_set(
        finding_id=finding().pk,
        target=Status.IN_PROGRESS,
        expected_version=1,
        context=ActionContext(actor=lead),
    )

    # The reviewer's page still shows SI-001 planned at version 1.
    response = move(reviewer_client, "SI-001", "planned", version="1")

    content = response.content.decode()
    stored = finding()
    assert response.status_code == 409
    assert "lead changed SI-001 at " in content
    assert "after your page loaded (it is now in progress)." in content
    assert "Your change was not applied." in content
    assert 'Status: <span class="status status-in_progress">In progress</span>' in content
    assert '<input type="hidden" name="version" value="2">' in content
    assert stored.status == Status.IN_PROGRESS
    assert stored.version == 2
    assert len(status_events()) == 1


def test_it_names_who_changed_a_stale_finding_and_when(reviewer_client, lead):
    finding_status_set(
        finding_id=finding().pk,
        target=Status.IN_PROGRESS,
        expected_version=1,
        context=ActionContext(actor=lead),
    )
    when = timezone.localtime(status_events()[0].created_at)

    response = move(reviewer_client, "SI-001", "planned", version="1")

    [alert] = re.findall(r'<p class="error" role="alert">(.*?)</p>', response.content.decode())
    # As a stale tick does: the reviewer should know whom to ask about the change, and when.
    assert response.status_code == 409
    assert "lead" in alert
    assert f"{when:%Y-%m-%d %H:%M}" in alert


def test_it_refuses_skipping_a_step_naming_the_allowed_moves(reviewer_client):
    response = move(reviewer_client, "SI-001", "done")

    content = response.content.decode()
    assert response.status_code == 422
    assert "SI-001 cannot move to done. SI-001 is planned; it can move to in progress." in content
    assert unchanged()


def test_it_refuses_done_while_items_are_unticked_naming_them(reviewer_client):
    set_status("SI-001", Status.IN_REVIEW)
    ChecklistItem.objects.filter(finding__code="SI-001", position__lt=13).update(
        checked=True, checked_at=timezone.now()
    )

    response = move(reviewer_client, "SI-001", "done")

    content = response.content.decode()
    assert response.status_code == 422
    assert "SI-001 cannot move to done. “Error handling patterns consistent” is not ticked." in (
        content
    )
    assert unchanged(status=Status.IN_REVIEW)


def test_it_refuses_starting_work_while_a_dependency_is_planned(reviewer_client, system_context):
    dependency_add(finding=finding("SI-002"), depends_on=finding("SI-001"), context=system_context)

    response = move(reviewer_client, "SI-002", "in_progress")

    content = response.content.decode()
    assert response.status_code == 422
    assert "SI-002 cannot move to in progress. SI-001 is planned, not done." in content
    assert unchanged("SI-002")


def test_it_refuses_to_move_a_finding_completed_before_the_plan(reviewer_client):
    response = move(reviewer_client, "BF-001", "in_progress")

    assert response.status_code == 422
    assert "BF-001 is completed before this plan; it can move to nothing." in (
        response.content.decode()
    )
    assert unchanged("BF-001", status=Status.COMPLETED)


def test_it_refuses_a_rule_to_a_plain_post_with_the_page(reviewer_client):
    response = move(reviewer_client, "SI-001", "done", htmx=False)

    content = response.content.decode()
    assert response.status_code == 422
    assert "<html" in content
    assert '<li class="message error">SI-001 cannot move to done.' in content


def test_it_moves_to_done_once_every_item_is_ticked(reviewer_client):
    set_status("SI-001", Status.IN_REVIEW)
    tick_all("SI-001")

    response = move(reviewer_client, "SI-001", "done")

    assert response.status_code == 200
    assert finding().status == Status.DONE


def test_it_records_one_audit_event_with_the_request_id_ip_and_user_agent(reviewer_client):
    response = move(
        reviewer_client, "SI-001", "in_progress", headers={"X-Request-ID": "proxy-1234.abcd_EF"}
    )

    [event] = status_events()
    assert response["X-Request-ID"] == "proxy-1234.abcd_EF"
    assert event.request_id == "proxy-1234.abcd_EF"
    assert event.actor_username == "reviewer"
    assert event.finding.code == "SI-001"
    assert event.before == {"status": "planned", "version": 1}
    assert event.after == {"status": "in_progress", "version": 2}
    assert event.permission == "findings.change_finding_status"
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == USER_AGENT
    assert AuditEvent.objects.filter(request_id=response["X-Request-ID"]).count() == 1


def test_it_takes_a_repeated_move_as_done_without_a_second_event(reviewer_client):
    move(reviewer_client, "SI-001", "in_progress")

    response = move(reviewer_client, "SI-001", "in_progress", version="1")

    assert response.status_code == 200
    assert finding().version == 2
    assert len(status_events()) == 1


def test_it_refuses_a_post_without_the_csrf_token(reviewer, catalogue):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    client.get("/findings/SI-001/")

    response = move(client, "SI-001", "in_progress")

    assert response.status_code == 403
    assert unchanged()


def test_it_accepts_the_csrf_token_htmx_sends_from_the_body(reviewer, catalogue):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    page = client.get("/findings/SI-001/").content.decode()
    [token] = re.findall(r"<body hx-headers='\{\"x-csrftoken\": \"([^\"]+)\"\}'>", page)

    response = move(client, "SI-001", "in_progress", headers={"X-CSRFToken": token})

    assert response.status_code == 200
    assert finding().status == Status.IN_PROGRESS
