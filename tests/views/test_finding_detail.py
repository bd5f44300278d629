"""The finding page at /findings/<code>/: facts, sections, links, checklist, status and history."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from findings.models import ChecklistItem, Finding, Phase, Signoff, Status
from findings.services.audit import audit_record
from findings.services.checklist import checklist_item_set
from findings.services.dependencies import dependency_add
from findings.services.status import finding_status_set
from tests.helpers import context_for
from tests.phase_work import finish

LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."


def checkboxes(content: str) -> list[str]:
    """Each checklist item's checkbox tag."""
    return re.findall(r'<input type="checkbox"[^>]*>', content)


def checklist_item(content: str, item: ChecklistItem) -> str:
    match = re.search(rf'<form id="item-{item.pk}".*?</form>', content, re.S)
    assert match, f"no form for item {item.pk}"
    return match.group(0)


def section(content: str, heading: str) -> str:
    """The HTML from a heading to the next card."""
    start = content.index(heading)
    return content[start : content.index("</section>", start)]


def item(code: str, position: int) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code=code, position=position)


def test_it_sends_anonymous_visitors_to_log_in(client, catalogue):
    response = client.get("/findings/SI-001/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/findings/SI-001/"


def test_it_refuses_users_without_a_role(client, outsider, catalogue):
    client.force_login(outsider)

    response = client.get("/findings/SI-001/")

    # Like /findings/, a finding's page needs findings.view_finding.
    assert response.status_code == 403
    assert "Enhanced Transaction Management" not in response.content.decode()


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_shows_every_role_the_finding(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = client.get("/findings/SI-001/")

    assert response.status_code == 200
    assert (
        '<h1><span class="code">SI-001</span> Enhanced Transaction Management Anti-patterns</h1>'
        in response.content.decode()
    )


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_refuses_methods_other_than_get(reviewer_client, method):
    assert getattr(reviewer_client, method)("/findings/SI-001/").status_code == 405


@pytest.mark.parametrize(
    "url",
    [
        "/findings/XX-999/",
        "/findings/SI-999/",
        "/findings/si-001/",
        "/findings/SI-001%20/",
        "/findings/SI-0%2501/",
        "/findings/SI-0%00/",
        "/findings/" + "S" * 5000 + "/",
    ],
)
def test_it_answers_404_for_codes_it_does_not_know(viewer_client, url):
    viewer_client.raise_request_exception = False

    response = viewer_client.get(url)

    assert response.status_code == 404


def test_it_shows_the_header_facts(viewer_client):
    owner = get_user_model().objects.create_user("amy")
    Finding.objects.filter(code="SI-001").update(effort_min_days=2, effort_max_days=5, owner=owner)

    content = viewer_client.get("/findings/SI-001/").content.decode()

    assert "<div><dt>Phase</dt><dd>2A Foundation</dd></div>" in content
    assert "<div><dt>Priority</dt><dd>Critical</dd></div>" in content
    assert "<div><dt>Category</dt><dd>SI</dd></div>" in content
    assert "<div><dt>Estimated effort</dt><dd>2–5 days</dd></div>" in content
    assert "<div><dt>Owner</dt><dd>amy</dd></div>" in content
    assert (
        '<a class="code" href="/documents/SI-001_TACTICAL_PLAN.md/">'
        "phase_2a_foundation/SI-001_TACTICAL_PLAN.md</a>"
    ) in content


def test_it_says_what_is_not_known_yet(viewer_client):
    content = viewer_client.get("/findings/BL-010/").content.decode()

    assert "<dt>Estimated effort</dt><dd>Not estimated yet</dd>" in content
    assert "<dt>Owner</dt><dd>Nobody yet</dd>" in content
    assert 'Medium <span class="badge warn" title="The seed gives only the phase' in content


def test_it_shows_a_finding_completed_before_the_plan_without_phase_or_checklist(viewer_client):
    response = viewer_client.get("/findings/BF-001/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "<dt>Phase</dt><dd>None (completed before this plan)</dd>" in content
    assert "Completed before this plan</span></h2>" in content
    assert checkboxes(content) == []
    assert 'id="phase-progress"' not in content


def test_it_offers_no_status_move_for_a_finding_completed_before_the_plan(reviewer_client):
    content = reviewer_client.get("/findings/BF-001/").content.decode()

    assert "Move to" not in content


def test_it_renders_the_sections_as_sanitised_markdown(viewer_client):
    Finding.objects.filter(code="SI-001").update(
        problem_statement="Locks are **held** too long.<script>alert(1)</script>",
        root_cause="",
    )

    content = viewer_client.get("/findings/SI-001/").content.decode()

    overview = section(content, "Finding overview")
    assert "<h3>Problem statement</h3><p>Locks are <strong>held</strong> too long." in overview
    assert "<script>alert(1)</script>" not in content
    assert '<h3>Root cause</h3><p class="muted">Not written yet.</p>' in overview
    assert "<h3>PostgreSQL migration</h3>" in content
    assert "execute_campaign_transaction_batch" in section(content, "Implementation plan")


def test_it_links_dependencies_and_dependants_with_their_status(viewer_client, system_context):
    dependency_add(
        finding=Finding.objects.get(code="SI-002"),
        depends_on=Finding.objects.get(code="SI-001"),
        context=system_context,
    )
    Finding.objects.filter(code="SI-002").update(status=Status.IN_PROGRESS)

    content = viewer_client.get("/findings/SI-001/").content.decode()

    depends_on = content[content.index('<h2 id="dependencies-heading">') :]
    needed_by = depends_on[depends_on.index("<h2>Needed by</h2>") :]
    depends_on = depends_on[: depends_on.index("<h2>Needed by</h2>")]
    assert re.findall(r'href="/findings/([A-Z]{2}-\d{3})/"', depends_on) == ["BF-001", "BL-002"]
    assert "Completed before this plan" in depends_on
    assert re.findall(r'href="/findings/([A-Z]{2}-\d{3})/"', needed_by[:600]) == ["SI-002"]
    assert '<span class="status status-in_progress">In progress</span>' in needed_by


def test_it_says_when_nothing_depends_on_the_finding(viewer_client):
    content = viewer_client.get("/findings/SI-001/").content.decode()

    assert '<li class="muted">No finding depends on this one.</li>' in content


def test_it_shows_the_checklist_in_its_three_sections(viewer_client):
    content = viewer_client.get("/findings/SI-001/").content.decode()

    legends = re.findall(r"<legend>(.*?)</legend>", content)
    assert legends == ["Mandatory Checks", "Database Validation", "Integration Validation"]
    assert len(checkboxes(content)) == 13
    assert 'id="finding-progress"' in content
    assert "Checklist: 0 of 13 ticked" in content
    assert "Phase 2A: 0 of 3 findings done, 0 of 39 items ticked" in content


def test_it_gives_each_item_a_form_that_works_without_javascript(reviewer_client):
    first = item("SI-001", 1)

    form = checklist_item(reviewer_client.get("/findings/SI-001/").content.decode(), first)

    assert f'method="post" action="/checklist/{first.pk}/"' in form
    assert f'hx-post="/checklist/{first.pk}/"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<input type="hidden" name="version" value="1">' in form
    # The hidden "false" comes first so that the checkbox's "true", when sent, wins.
    assert form.index('name="checked" value="false"') < form.index('name="checked" value="true"')
    assert '<button type="submit" class="small">Save</button>' in form


def test_it_shows_ticked_items_checked_with_who_and_when(viewer_client, reviewer):
    ticked = checklist_item_set(
        item_id=item("SI-001", 2).pk,
        checked=True,
        expected_version=1,
        context=context_for(reviewer),
    )

    form = checklist_item(viewer_client.get("/findings/SI-001/").content.decode(), ticked)

    assert 'class="checklist-item is-checked"' in form
    assert re.search(r'<input type="checkbox"[^>]*\schecked\s', form)
    assert f'ticked by reviewer,\n    <time datetime="{ticked.checked_at:%Y-%m-%dT%H:%M:%S}' in form
    assert '<input type="hidden" name="version" value="2">' in form


def test_it_lets_a_reviewer_tick_and_move_the_status(reviewer_client):
    content = reviewer_client.get("/findings/SI-001/").content.decode()

    assert all("disabled" not in box for box in checkboxes(content))
    assert '<input type="hidden" name="target" value="in_progress">' in content
    assert "Move to in progress</button>" in content
    assert 'action="/findings/SI-001/status/"' in content


def test_it_shows_a_viewer_disabled_checkboxes_and_no_status_moves(viewer_client):
    content = viewer_client.get("/findings/SI-001/").content.decode()

    assert len(checkboxes(content)) == 13
    assert all(re.search(r"\sdisabled[\s>]", box) for box in checkboxes(content))
    assert "Move to" not in content
    assert '<button type="submit" class="small">Save</button>' not in content


def test_it_names_what_blocks_a_status_move(reviewer_client, reviewer):
    finding = Finding.objects.get(code="SI-001")
    Finding.objects.filter(pk=finding.pk).update(status=Status.IN_REVIEW)

    content = reviewer_client.get("/findings/SI-001/").content.decode()

    panel = section(content, 'id="status-panel"')
    assert "Move to done</button>" in panel
    assert 'aria-describedby="blockers-done"' in panel
    assert "<li>“`go test ./... -race` passes with zero data races” is not ticked.</li>" in panel
    assert "Move to in progress</button>" in panel


def test_it_disables_a_locked_phase_for_reviewers_too_and_says_why(reviewer_client):
    content = reviewer_client.get("/findings/BL-005/").content.decode()

    locked = '<span class="badge lock-badge">Locked</span>'
    assert f'<p class="lock" role="note">{locked} {LOCKED_BY_2A}</p>' in content
    assert len(checkboxes(content)) == 13
    assert all(re.search(r"\sdisabled[\s>]", box) for box in checkboxes(content))
    assert "Move to" not in content


def test_it_unlocks_the_page_once_2a_is_signed_off(reviewer_client, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"), signed_by=lead, signed_at=timezone.now()
    )

    content = reviewer_client.get("/findings/BL-005/").content.decode()

    assert LOCKED_BY_2A not in content
    assert all("disabled" not in box for box in checkboxes(content))
    assert "Move to in progress</button>" in content


def test_it_shows_a_done_findings_checkboxes_disabled_with_the_way_back(reviewer_client, reviewer):
    finish("SI-001", reviewer)

    content = reviewer_client.get("/findings/SI-001/").content.decode()

    checklist = section(content, 'id="checklist"')
    reason = "SI-001 is done: move it back to in review to change its checklist."
    assert f'<p id="checklist-frozen" class="notice" role="note">{reason}' in checklist
    assert len(checkboxes(checklist)) == 13
    for box in checkboxes(checklist):
        assert re.search(r"\sdisabled[\s>]", box)
        assert 'aria-describedby="checklist-frozen"' in box
    assert '<button type="submit" class="small">Save</button>' not in content
    panel = section(content, 'id="status-panel"')
    assert '<input type="hidden" name="target" value="in_review">' in panel
    assert "Move to in review</button>" in panel


def test_it_warns_a_signoff_lead_that_a_tick_bars_them_from_signing_2a(client, lead, catalogue):
    client.force_login(lead)

    content = client.get("/findings/SI-001/").content.decode()

    checklist = section(content, 'id="checklist"')
    assert "ticking an item here bars you from signing phase 2A off" in checklist
    assert re.search(r'<section id="checklist"[^>]*data-signing-bar="Ticking an item', content)


@pytest.mark.parametrize(
    ("persona", "code", "signed"),
    [("reviewer", "SI-001", False), ("lead", "SI-001", True), ("lead", "BL-005", True)],
    ids=["reviewer-in-2a", "lead-in-signed-2a", "lead-in-ungated-2b"],
)
def test_it_warns_nobody_whom_a_tick_does_not_bar(
    client, catalogue, lead, request, persona, code, signed
):
    if signed:
        Signoff.objects.create(
            phase=Phase.objects.get(code="2A"), signed_by=lead, signed_at=timezone.now()
        )
    client.force_login(request.getfixturevalue(persona))

    content = client.get(f"/findings/{code}/").content.decode()

    assert "bars you from signing" not in content
    assert "data-signing-bar" not in content


def test_it_shows_the_history_newest_first(viewer_client, reviewer):
    checklist_item_set(
        item_id=item("SI-001", 1).pk,
        checked=True,
        expected_version=1,
        context=context_for(reviewer),
    )
    finding_status_set(
        finding_id=Finding.objects.get(code="SI-001").pk,
        target=Status.IN_PROGRESS,
        expected_version=1,
        context=context_for(reviewer),
    )

    content = viewer_client.get("/findings/SI-001/").content.decode()

    history = content[content.index('<ol class="history">') :]
    actions = re.findall(r'data-action="([a-z_.]+)"', history)
    assert actions == [
        "finding.status_changed",
        "checklist_item.ticked",
        # The catalogue load added SI-001 and its two dependencies.
        "dependency.added",
        "dependency.added",
        "finding.created",
    ]
    assert '<strong>reviewer</strong> <span class="audit-action" ' in history
    assert ">moved from planned to in progress</span>" in history
    assert ">finding created</span>" in history
    assert 'href="/audit/?finding=SI-001"' in history


def test_it_shows_the_fifty_newest_events(viewer_client, system_context):
    si_001 = Finding.objects.get(code="SI-001")
    for n in range(55):
        audit_record(
            context=system_context,
            action=f"test.event_{n}",
            obj=si_001,
            permission="system:test",
            finding=si_001,
        )

    content = viewer_client.get("/findings/SI-001/").content.decode()

    history = content[content.index('<ol class="history">') :]
    actions = re.findall(r'data-action="([a-z_.0-9]+)"', history)
    assert actions == [f"test.event_{n}" for n in range(54, 4, -1)]


def test_it_shows_only_this_findings_history(viewer_client, reviewer):
    checklist_item_set(
        item_id=item("SI-002", 1).pk,
        checked=True,
        expected_version=1,
        context=context_for(reviewer),
    )

    content = viewer_client.get("/findings/SI-001/").content.decode()

    assert "checklist_item.ticked" not in content


def test_it_carries_the_csrf_token_for_htmx_on_the_body(reviewer_client):
    content = reviewer_client.get("/findings/SI-001/").content.decode()

    assert re.search(r"<body hx-headers='\{\"x-csrftoken\": \"[A-Za-z0-9]{64}\"\}'>", content)


def test_it_renders_inline_markdown_in_item_labels_escaped(viewer_client):
    target = item("SI-001", 1)
    ChecklistItem.objects.filter(pk=target.pk).update(
        text="`go vet` <script>x()</script> & **all**"
    )

    content = viewer_client.get("/findings/SI-001/").content.decode()

    assert (
        f'<label for="item-{target.pk}-box"><code>go vet</code>  &amp; <strong>all</strong></label>'
    ) in content


def test_it_shows_each_change_in_the_history_by_name_with_before_and_after(viewer_client, reviewer):
    finish("SI-001", reviewer)

    content = viewer_client.get("/findings/SI-001/").content.decode()

    history = content[content.index('<ol class="history">') :]
    assert ">moved from in review to done</span>" in history
    assert ">ticked</span>" in history
    assert (
        '<li><span class="field-name">checked</span>: <span class="before">no</span> → '
        '<span class="after">yes</span></li>'
    ) in history
    assert '<small class="request-id">' in history
