"""The phase page `/phases/<code>/`: its findings, documents, blockers and signoff gate.

Its two forms are tested in test_phase_sign.py and test_phase_revoke.py; the three views share
one page and one gate fragment (tests/views/phase_gate.py).
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from findings.models import ChecklistItem, Dependency, Finding, Phase, Signoff, Status
from findings.roles import SIGNOFF_LEAD
from findings.services.signoffs import content_fingerprint, phase_content, signoff_sign
from tests.helpers import context_for
from tests.phase_work import fingerprint_of, make_ready, move, tick
from tests.views.phase_gate import (
    COMMENT,
    OWNER_REASON,
    REVOKE_FORM,
    SIGN_FORM,
    SIGN_LINK,
    TICKER_REASON,
    gate_of,
    item_of,
    page,
)

# GET /phases/<code>/


def test_it_sends_anonymous_visitors_to_log_in(client, catalogue):
    response = client.get("/phases/2A/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/phases/2A/"


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_shows_the_phase_to_every_role(client, catalogue, persona, request):
    html = page(client, request.getfixturevalue(persona))

    assert "<h1>Phase 2A · Foundation</h1>" in html
    assert 'id="phase-gate"' in html


def test_it_refuses_users_without_a_role(client, catalogue, outsider):
    # As /findings/ and /audit/ do: a user with no role may not read the plan.
    client.force_login(outsider)

    assert client.get("/phases/2A/").status_code == 403


def test_it_answers_404_for_an_unknown_phase(client, catalogue, viewer):
    client.force_login(viewer)

    assert client.get("/phases/9Z/").status_code == 404


def test_it_refuses_a_post_to_the_page(client, catalogue, lead):
    client.force_login(lead)

    assert client.post("/phases/2A/", {"comment": COMMENT}).status_code == 405
    assert not Signoff.objects.exists()


def test_it_lists_the_findings_with_their_status_and_checklist_progress(
    client, phase_2a, reviewer, viewer
):
    tick(item_of("SI-001", 1), reviewer)
    tick(item_of("SI-001", 2), reviewer)
    move("SI-001", Status.IN_PROGRESS, reviewer)

    html = page(client, viewer)

    assert "0 of 3 done · 2 of 39 checklist items ticked" in html
    findings = html[html.index('id="phase-findings"') : html.index('id="phase-documents"')]
    rows = re.findall(r"<tr>(.*?)</tr>", findings, re.S)
    codes = [re.search(r'href="/findings/([A-Z]{2}-\d{3})/"', row).group(1) for row in rows[1:]]
    assert codes == ["BF-002", "SI-001", "SI-002"]
    si_001 = rows[2]
    assert '<span class="status status-in_progress">In progress</span>' in si_001
    assert '<progress max="13" value="2"' in si_001
    assert "2/13" in si_001
    assert '<span class="status status-planned">Planned</span>' in rows[1]
    assert "0/13" in rows[1]


def test_it_lists_the_phase_documents(client, phase_2a, viewer):
    html = page(client, viewer)

    for name in ["SI-001_TACTICAL_PLAN.md", "SI-002_TACTICAL_PLAN.md", "BF-002_TACTICAL_PLAN.md"]:
        assert name in html
    assert "BL-005_TACTICAL_PLAN.md" not in html


def blockers_of(html: str) -> str:
    start = html.index('id="readiness-blockers"')
    return html[start : html.index('<p class="fingerprint">', start)]


def test_it_groups_the_blockers_per_finding_linking_each_to_where_it_is_fixed(
    client, phase_2a, reviewer, viewer
):
    make_ready(reviewer)
    item = item_of("SI-001", 5)
    move("SI-001", Status.IN_REVIEW, reviewer)
    tick(item, reviewer, checked=False)
    move("SI-002", Status.IN_REVIEW, reviewer)

    blockers = blockers_of(page(client, viewer))

    # Only a group with lines to show expands; its summary is text (a link inside <summary> would
    # be a control inside a control), and its first line links to the finding.
    assert re.findall(r"<summary>(.*?)</summary>", blockers) == [
        "SI-001: in review · 1 of 13 items not ticked"
    ]
    assert '<li><a href="/findings/SI-001/">Open SI-001</a></li>' in blockers
    assert '<a href="/findings/SI-002/">SI-002: in review</a>' in blockers
    assert blockers.count("<details>") == 1
    assert (
        f'<li><a href="/findings/SI-001/#item-{item.pk}">'
        f"“{escape(item.text)}” is not ticked.</a></li>"
    ) in blockers
    # The link lands on the item's own form on the finding page.
    assert f'id="item-{item.pk}"' in page(client, viewer, "/findings/SI-001/")


def test_it_sums_up_an_untouched_phase_in_one_line_per_finding(client, phase_2a, viewer):
    html = page(client, viewer)

    blockers = blockers_of(html)
    assert re.findall(r"<summary>(.*?)</summary>", blockers) == [
        "BF-002: planned · 13 of 13 items not ticked",
        "SI-001: planned · 13 of 13 items not ticked",
        "SI-002: planned · 13 of 13 items not ticked",
    ]
    items = ChecklistItem.objects.filter(finding__phase=phase_2a)
    assert blockers.count("#item-") == items.count() == 39
    assert "Not ready to sign off." in html


def test_it_renders_inline_markdown_in_the_item_lines_escaped(client, phase_2a, viewer):
    item = item_of("SI-001", 1)
    ChecklistItem.objects.filter(pk=item.pk).update(text="Run `go vet` <b>now</b> & *then*")

    blockers = blockers_of(page(client, viewer))

    assert (
        f'<a href="/findings/SI-001/#item-{item.pk}">'
        "“Run <code>go vet</code> now &amp; <em>then</em>” is not ticked.</a>"
    ) in blockers


def test_it_links_an_unfinished_outside_dependency_to_that_finding(
    client, phase_2a, reviewer, admin_user, viewer
):
    make_ready(reviewer)
    # A dependency into a later phase is refused now; one recorded before that rule still shows.
    Dependency.objects.create(
        finding=Finding.objects.get(code="SI-001"), depends_on=Finding.objects.get(code="BL-005")
    )

    blockers = blockers_of(page(client, viewer))

    assert "<summary>SI-001: 1 unfinished dependency in other phases</summary>" in blockers
    assert '<li><a href="/findings/BL-005/">Depends on BL-005, which is planned.</a></li>' in (
        blockers
    )


def test_it_links_an_earlier_unsigned_gate_to_its_phase(client, catalogue, viewer):
    Phase.objects.filter(code="2C").update(requires_signoff=True)

    html = page(client, viewer, "/phases/2C/")

    assert '<li><a href="/phases/2A/">Locked until phase 2A Foundation is signed off.</a></li>' in (
        html
    )


def test_it_shows_a_phase_without_a_gate_and_its_lock(client, catalogue, viewer):
    html = page(client, viewer, "/phases/2B/")

    assert "This phase has no signoff gate." in html
    assert "Locked until phase 2A Foundation is signed off." in html
    assert 'href="/phases/2B/signoff/"' not in html
    assert "Who may sign" not in html


def test_it_shows_the_current_fingerprint_before_any_signoff(client, phase_2a, viewer):
    html = page(client, viewer)

    fingerprint = content_fingerprint(phase_content(phase_2a.pk))
    assert f"Current content fingerprint <code>{fingerprint}</code>" in html


@pytest.mark.parametrize(
    ("persona", "offered"),
    [("lead", True), ("admin_user", True), ("reviewer", False), ("viewer", False)],
)
def test_it_offers_the_sign_link_only_to_those_who_may_sign_a_ready_phase(
    client, ready_2a, persona, offered, request
):
    html = page(client, request.getfixturevalue(persona))

    assert "Ready to sign off" in html
    assert (SIGN_LINK in html) is offered
    assert ('hx-get="/phases/2A/signoff/"' in html) is offered
    # Signing is confirmed on the confirmation, never from the page itself.
    assert SIGN_FORM not in html


def test_it_offers_no_sign_link_while_the_phase_is_not_ready(client, phase_2a, lead):
    html = page(client, lead)

    assert SIGN_LINK not in html


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead"])
def test_it_names_who_may_sign_a_gated_phase(client, ready_2a, lead, admin_user, persona, request):
    html = gate_of(page(client, request.getfixturevalue(persona)))

    assert '<p class="signers" id="phase-signers">Who may sign: admin, lead</p>' in html


def test_it_names_the_second_lead_where_the_first_ticked(
    client, phase_2a, reviewer, lead, admin_user
):
    second = get_user_model().objects.create_user("lead2")
    second.groups.set([Group.objects.get(name=SIGNOFF_LEAD)])
    tick(item_of("SI-002", 1), lead)
    make_ready(reviewer)

    assert "Who may sign: admin, lead2</p>" in gate_of(page(client, reviewer))
    assert f"You cannot sign: {TICKER_REASON} someone else must sign it off. admin, lead2 can." in (
        gate_of(page(client, lead))
    )


def test_it_names_no_signers_once_the_phase_is_signed(client, signoff, viewer):
    assert "Who may sign" not in page(client, viewer)


def test_it_says_why_nobody_can_sign_when_every_holder_is_barred(
    client, phase_2a, reviewer, lead, admin_user
):
    tick(item_of("SI-001", 1), lead)
    tick(item_of("SI-002", 1), admin_user)
    make_ready(reviewer)

    html = gate_of(page(client, reviewer))

    assert "Who may sign" not in html
    assert (
        "Nobody can sign it off: every holder of the signoff lead role (admin, lead) owns a "
        "finding of the phase or ticked one of its items."
    ) in html


def test_it_tells_an_owner_why_they_cannot_sign_and_who_can(
    client, phase_2a, reviewer, lead, admin_user
):
    Finding.objects.filter(code="SI-001").update(owner=lead)
    make_ready(reviewer)

    html = page(client, lead)

    assert SIGN_LINK not in html
    assert f"You cannot sign: {OWNER_REASON} admin can.</p>" in gate_of(html)


def test_it_tells_a_lead_who_ticked_why_they_cannot_sign_and_who_can(
    client, phase_2a, reviewer, lead, admin_user
):
    tick(item_of("SI-002", 1), lead)
    make_ready(reviewer)

    html = page(client, lead)

    assert SIGN_LINK not in html
    assert f"You cannot sign: {TICKER_REASON} someone else must sign it off. admin can.</p>" in (
        gate_of(html)
    )


def test_it_offers_the_link_to_a_lead_whose_tick_was_redone(client, phase_2a, reviewer, lead):
    item = item_of("SI-002", 1)
    tick(item, lead)
    tick(item, reviewer, checked=False)
    make_ready(reviewer)

    html = page(client, lead)

    assert SIGN_LINK in html
    assert "You cannot sign" not in html


def test_it_offers_the_link_to_a_lead_who_ticked_when_separation_is_relaxed(
    client, phase_2a, reviewer, lead, settings
):
    settings.SIGNOFF_STRICT_SEPARATION = False
    tick(item_of("SI-002", 1), lead)
    make_ready(reviewer)

    html = page(client, lead)

    assert SIGN_LINK in html
    assert TICKER_REASON not in html


def test_it_shows_who_signed_when_with_what_comment_and_that_content_matches(
    client, signoff, viewer
):
    html = gate_of(page(client, viewer))

    assert "Signed off by <strong>lead</strong>" in html
    assert f'<time datetime="{signoff.signed_at.isoformat()}' in html
    assert escape(COMMENT) in html
    assert f"<code>{signoff.fingerprint}</code>" in html
    assert "today's content still matches." in html
    assert "differs" not in html
    assert SIGN_LINK not in html


def test_it_escapes_the_signoff_comment(client, ready_2a, lead, viewer):
    signoff_sign(
        phase_id=ready_2a.pk,
        expected_fingerprint=fingerprint_of(ready_2a),
        comment='<script>alert("signed")</script>',
        context=context_for(lead),
    )

    html = gate_of(page(client, viewer))

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;signed&quot;)&lt;/script&gt;" in html


def test_it_says_when_todays_content_differs_from_what_was_signed(client, signoff, viewer):
    # A direct update skips the services, and with them the automatic revocation.
    ChecklistItem.objects.filter(pk=item_of("SI-001", 1).pk).update(text="Edited behind its back")

    html = gate_of(page(client, viewer))

    assert "Signed off by <strong>lead</strong>" in html
    assert "today's content differs." in html
    assert "still matches" not in html


@pytest.mark.parametrize(
    ("persona", "offered"),
    [("lead", True), ("admin_user", True), ("reviewer", False), ("viewer", False)],
)
def test_it_offers_the_revoke_form_only_to_leads_and_admins(
    client, signoff, persona, offered, request
):
    html = page(client, request.getfixturevalue(persona))

    assert (REVOKE_FORM in html) is offered


def test_it_shows_an_automatic_revocation_and_what_changed(client, signoff, reviewer, viewer):
    item = item_of("SI-001", 3)
    move("SI-001", Status.IN_REVIEW, reviewer)
    tick(item, reviewer, checked=False)

    html = gate_of(page(client, viewer))

    assert "Signed off by" not in html
    assert "revoked automatically" in html
    assert escape("The approved content changed: SI-001: status done → in_review.") in html
    assert f'<a href="/findings/SI-001/#item-{item.pk}">' in html


def test_its_query_count_does_not_grow_with_the_findings(page_cache_off, client, catalogue, viewer):
    client.force_login(viewer)
    counts = {}
    # 2B, 2C and 2D hold 3, 6 and 11 findings, each with 13 items.
    for code in ["2B", "2C", "2D"]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/phases/{code}/").status_code == 200
        counts[code] = len(queries)

    assert counts["2B"] == counts["2C"] == counts["2D"], counts


def test_it_links_each_document_name_to_its_page(client, phase_2a, viewer):
    html = page(client, viewer)

    assert (
        '<a class="code" href="/documents/SI-001_TACTICAL_PLAN.md/">SI-001_TACTICAL_PLAN.md</a>'
    ) in html
