"""PUT /api/v1/findings/<code>/checklist/<key> against a live server, with real tokens."""

import json

import httpx
import pytest

from findings.models import AuditEvent, ChecklistItem, Signoff
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/findings/SI-001/checklist/go-test-race"
EVIDENCE = {
    "url": "https://github.com/domainflow/api/actions/runs/812",
    "commit": "3f2c9a1b7e",
    "summary": "run #812",
}


def put(live_server, token: str, body, path: str = PATH, **headers) -> httpx.Response:
    content = body if isinstance(body, str | bytes) else json.dumps(body)
    return httpx.put(
        live_server.url + path,
        content=content,
        headers={"Content-Type": "application/json", **bearer(token), **headers},
    )


def item(key: str = "go-test-race", code: str = "SI-001") -> ChecklistItem:
    return ChecklistItem.objects.select_related("checked_by").get(finding__code=code, key=key)


def tick_events() -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action__startswith="checklist_item.").order_by("sequence")
    )


def test_it_ticks_with_evidence_and_audits_the_token(live_server, ci_token):
    response = put(live_server, ci_token, {"checked": True, "evidence": EVIDENCE})

    assert response.status_code == 200
    assert response.json()["checked"] is True
    assert response.json()["ticked_by"] == "ci-bot"
    assert response.json()["evidence"] == EVIDENCE
    ticked = item()
    assert (ticked.checked, ticked.checked_by.username) == (True, "ci-bot")
    assert ticked.evidence_url == EVIDENCE["url"]
    [event] = tick_events()
    assert event.action == "checklist_item.ticked"
    assert event.actor_username == "ci-bot"
    assert event.after["token"] == "ci-pipeline"
    assert event.after["evidence_commit"] == "3f2c9a1b7e"


def test_it_unticks_with_the_failing_runs_evidence(live_server, ci_token):
    put(live_server, ci_token, {"checked": True, "evidence": EVIDENCE})
    failed = {**EVIDENCE, "url": EVIDENCE["url"][:-3] + "813", "summary": "run #813 failed"}

    response = put(live_server, ci_token, {"checked": False, "evidence": failed})

    assert response.status_code == 200
    unticked = item()
    assert (unticked.checked, unticked.checked_by, unticked.checked_at) == (False, None, None)
    assert unticked.evidence_summary == "run #813 failed"
    assert tick_events()[-1].action == "checklist_item.unticked"


def test_it_changes_nothing_on_a_repeat(live_server, ci_token):
    first = put(live_server, ci_token, {"checked": True, "evidence": EVIDENCE})
    again = put(live_server, ci_token, {"checked": True, "evidence": EVIDENCE})

    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(tick_events()) == 1


def test_it_refuses_a_stale_version_with_409(live_server, ci_token):
    put(live_server, ci_token, {"checked": True})

    response = put(live_server, ci_token, {"checked": False, "version": 1})

    assert response.status_code == 409
    assert response.json()["error"] == "stale_version"
    assert item().checked is True


def test_it_refuses_a_locked_phase_with_423(live_server, ci_token):
    # SI-004 is in phase 2B, locked until 2A is signed off.
    code = ChecklistItem.objects.filter(finding__phase__code="2B").first().finding.code

    response = put(
        live_server, ci_token, {"checked": True}, f"/api/v1/findings/{code}/checklist/go-test-race"
    )

    assert response.status_code == 423
    assert response.json()["error"] == "phase_locked"
    assert "Locked until phase 2A" in response.json()["detail"]
    assert not tick_events()


def test_it_answers_404_for_an_unknown_key_or_finding(live_server, ci_token):
    unknown_key = put(
        live_server, ci_token, {"checked": True}, "/api/v1/findings/SI-001/checklist/nope"
    )
    unknown_code = put(
        live_server, ci_token, {"checked": True}, "/api/v1/findings/SI-999/checklist/go-test-race"
    )

    assert (unknown_key.status_code, unknown_code.status_code) == (404, 404)
    assert unknown_key.json()["error"] == "not_found"
    assert not tick_events()


@pytest.mark.parametrize("token_fixture", ["revoked_token", "expired_token"])
def test_it_refuses_a_revoked_or_expired_token_with_401(live_server, request, token_fixture):
    response = put(live_server, request.getfixturevalue(token_fixture), {"checked": True})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert not tick_events()


def test_it_refuses_a_read_only_token_writing_with_403(live_server, read_only_token):
    response = put(live_server, read_only_token, {"checked": True})

    assert response.status_code == 403
    assert response.json()["error"] == "token_scope"
    assert not tick_events()


def test_it_gives_a_service_account_no_way_to_sign(live_server, ci_token, ci_bot):
    # The API has no signing operation, and the page's signing form does not take tokens.
    api_sign = httpx.post(live_server.url + "/api/v1/phases/2A/signoff/", headers=bearer(ci_token))
    page_sign = httpx.post(live_server.url + "/phases/2A/signoff/", headers=bearer(ci_token))

    assert api_sign.status_code in (404, 405)
    assert page_sign.status_code in (302, 403)
    assert not ci_bot.has_perm("findings.sign_off_phase")
    assert not Signoff.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        ('{"checked": tru', "application/json", "invalid_request"),
        ("[1, 2]", "application/json", "invalid_request"),
        ('{"checked": "yes"}', "application/json", "invalid_request"),
        ('{"checked": true, "extra": 1}', "application/json", "invalid_request"),
        ('{"checked": true}', "text/plain", "unsupported_content_type"),
        ("checked=true", "application/x-www-form-urlencoded", "unsupported_content_type"),
        (
            '{"checked": true, "evidence": {"url": "javascript:alert(1)"}}',
            "application/json",
            "invalid_request",
        ),
    ],
)
def test_it_refuses_bad_input_with_400(live_server, ci_token, body, content_type, error):
    response = put(live_server, ci_token, body, **{"Content-Type": content_type})

    assert response.status_code == 400
    assert response.json()["error"] == error
    assert not tick_events()


def test_it_refuses_a_1_mb_body_with_400(live_server, ci_token):
    body = json.dumps({"checked": True, "evidence": {"summary": "x" * 1_000_000}})

    response = put(live_server, ci_token, body)

    assert response.status_code == 400
    assert response.json()["error"] == "body_too_large"
    assert not tick_events()


def test_it_applies_csrf_to_a_session_but_not_to_a_token(live_server, reviewer, client, catalogue):
    client.force_login(reviewer)
    csrf_secret = "a" * 32
    session = httpx.Client(
        base_url=live_server.url,
        cookies={"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf_secret},
        headers={"Content-Type": "application/json"},
    )

    without_csrf = session.put(PATH, content='{"checked": true}')
    with_csrf = session.put(PATH, content='{"checked": true}', headers={"X-CSRFToken": csrf_secret})

    assert without_csrf.status_code == 403
    assert without_csrf.json()["error"] == "csrf_failed"
    assert with_csrf.status_code == 200
    assert item().checked_by.username == "reviewer"
