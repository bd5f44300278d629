"""Writing a finding's document sections: /findings/<code>/edit/<field>/ and its preview."""

import pytest

from findings.gates import lock_reason_for
from findings.models import AuditEvent, Finding, Phase, Signoff
from findings.seed import TITLE_PLACEHOLDER
from findings.services.content import finding_content_save
from tests.export.written_catalogue import written_sections
from tests.helpers import context_for

HTMX = {"HX-Request": "true"}
WRITTEN = written_sections("SI-001")


def stored(code: str = "SI-001") -> Finding:
    return Finding.objects.get(code=code)


def test_it_shows_the_editor_as_a_page_of_its_own_without_javascript(reviewer_client):
    response = reviewer_client.get("/findings/SI-001/edit/root_cause/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Root cause of" in content
    assert 'action="/findings/SI-001/edit/root_cause/"' in content
    assert '<input type="hidden" name="version" value="1">' in content
    assert 'name="text"' in content
    # On its own page the form posts plainly and comes back to the finding.
    assert 'hx-post="/findings/SI-001/edit/root_cause/"' not in content


def test_it_swaps_the_section_for_the_editor_with_htmx(reviewer_client):
    response = reviewer_client.get("/findings/SI-001/edit/go_implementation/", headers=HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<form id="content-editor-go_implementation"')
    assert "data-tab-inserts" in content
    assert 'hx-post="/findings/SI-001/edit/go_implementation/" hx-target="this"' in content
    assert 'hx-post="/findings/SI-001/edit/go_implementation/preview/"' in content
    assert 'hx-trigger="input changed delay:400ms"' in content


def test_it_offers_an_edit_control_per_section_to_writers_only(reviewer_client, client, viewer):
    page = reviewer_client.get("/findings/SI-001/").content.decode()

    assert 'hx-get="/findings/SI-001/edit/migration_sql/"' in page
    assert 'href="/findings/SI-001/edit/effort/"' in page
    # The seed gives SI-001 its title, so it is not the author's to write.
    assert "/findings/SI-001/edit/title/" not in page
    client.force_login(viewer)
    assert "/edit/" not in client.get("/findings/SI-001/").content.decode()


def test_it_previews_and_checks_the_text_without_changing_anything(reviewer_client):
    events = AuditEvent.objects.count()
    url = "/findings/SI-001/edit/go_implementation/preview/"

    unwritten = reviewer_client.post(url, {"text": "x"}, headers=HTMX).content.decode()
    written = reviewer_client.post(
        url, {"text": WRITTEN["go_implementation"]}, headers=HTMX
    ).content.decode()

    assert "not written" in unwritten
    assert "QA passes." in written
    assert '<span class="kd">func</span>' in written
    assert stored().content_version == 1
    assert stored().go_implementation == ""
    assert AuditEvent.objects.count() == events


def test_it_numbers_the_lines_of_a_failing_section(reviewer_client):
    response = reviewer_client.post(
        "/findings/SI-001/edit/migration_sql/preview/",
        {"text": "SELECT 1;\nSELEC 2;"},
        headers=HTMX,
    )

    assert "Line 2: SQL does not parse" in response.content.decode()


def test_it_renders_the_preview_through_the_sanitising_pipeline(reviewer_client):
    response = reviewer_client.post(
        "/findings/SI-001/edit/impact/preview/",
        {"text": "**Lost** updates <script>alert(1)</script>"},
        headers=HTMX,
    )

    content = response.content.decode()
    assert "<strong>Lost</strong>" in content
    assert "<script>" not in content


def test_it_saves_a_section_and_goes_back_to_the_page_without_javascript(reviewer_client):
    response = reviewer_client.post(
        "/findings/SI-001/edit/root_cause/", {"text": WRITTEN["root_cause"], "version": "1"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/findings/SI-001/#content-section-root_cause"
    assert stored().root_cause == WRITTEN["root_cause"]
    assert stored().content_version == 2


def test_it_answers_a_save_with_htmx_with_the_section_as_the_page_shows_it(reviewer_client):
    response = reviewer_client.post(
        "/findings/SI-001/edit/impact/",
        {"text": "Lost **updates**.", "version": "1"},
        headers=HTMX,
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="content-section-impact"')
    assert "<strong>updates</strong>" in content
    assert "Saved." in content


def test_it_keeps_tabs_indentation_and_trailing_lines_of_code(reviewer_client):
    code = "func f() {\r\n\tif true {\r\n\t\treturn\r\n\t}\r\n}\r\n\r\n"

    reviewer_client.post("/findings/SI-001/edit/go_implementation/", {"text": code, "version": "1"})

    assert stored().go_implementation == code.replace("\r\n", "\n")


def test_it_refuses_a_stale_version_with_both_texts_and_a_diff(reviewer_client, lead):
    finding_content_save(
        code="SI-001",
        field="root_cause",
        text="Their cause.\nShared line.",
        expected_version=1,
        context=context_for(lead),
    )

    response = reviewer_client.post(
        "/findings/SI-001/edit/root_cause/",
        {"text": "My cause.\nShared line.", "version": "1"},
        headers=HTMX,
    )

    content = response.content.decode()
    assert response.status_code == 409
    assert "lead changed SI-001&#x27;s content" in content
    assert '<pre class="conflict-theirs">Their cause.\nShared line.</pre>' in content
    assert '<span class="diff-removed">-Their cause.</span>' in content
    assert '<span class="diff-added">+My cause.</span>' in content
    # Saving again after seeing theirs is a choice: the form now carries the current version.
    assert '<input type="hidden" name="version" value="2">' in content
    assert stored().root_cause == "Their cause.\nShared line."


def test_it_refuses_a_stale_version_without_javascript_on_the_editor_page(reviewer_client, lead):
    finding_content_save(
        code="SI-001", field="impact", text="Theirs.", expected_version=1, context=context_for(lead)
    )

    response = reviewer_client.post(
        "/findings/SI-001/edit/impact/", {"text": "Mine.", "version": "1"}
    )

    assert response.status_code == 409
    assert "<h1>Security/performance impact of" in response.content.decode()
    assert stored().impact == "Theirs."


def test_it_forbids_a_viewer_to_open_preview_or_save(client, viewer, catalogue):
    client.force_login(viewer)

    opened = client.get("/findings/SI-001/edit/root_cause/")
    previewed = client.post("/findings/SI-001/edit/root_cause/preview/", {"text": "a"})
    saved = client.post("/findings/SI-001/edit/root_cause/", {"text": "a", "version": "1"})

    assert [opened.status_code, previewed.status_code, saved.status_code] == [403, 403, 403]
    assert "findings.edit_content" in saved.content.decode()
    assert stored().root_cause == ""


@pytest.mark.parametrize(
    "url",
    [
        "/findings/SI-001/edit/status/",
        "/findings/SI-001/edit/status/preview/",
        "/findings/SI-001/edit/title/",
        "/findings/BF-001/edit/root_cause/",
    ],
)
def test_it_refuses_a_section_the_finding_does_not_fill_with_400(reviewer_client, url):
    response = reviewer_client.post(url, {"text": "a", "version": "1"})

    assert response.status_code == 400
    assert AuditEvent.objects.filter(action="finding.content_changed").count() == 0


def test_it_answers_404_for_an_unknown_finding(reviewer_client):
    assert reviewer_client.get("/findings/SI-999/edit/root_cause/").status_code == 404


def test_it_refuses_bad_input_with_400_and_an_unreadable_effort_with_422(reviewer_client):
    no_version = reviewer_client.post("/findings/SI-001/edit/effort/", {"text": "2-4"})
    unreadable = reviewer_client.post(
        "/findings/SI-001/edit/effort/", {"text": "soon", "version": "1"}, headers=HTMX
    )

    assert no_version.status_code == 400
    assert unreadable.status_code == 422
    assert "range of whole days" in unreadable.content.decode()
    assert stored().effort_min_days is None


def test_it_refuses_the_wrong_method(reviewer_client):
    assert reviewer_client.put("/findings/SI-001/edit/root_cause/").status_code == 405
    assert reviewer_client.get("/findings/SI-001/edit/root_cause/preview/").status_code == 405
    assert reviewer_client.post("/findings/SI-001/sections/root_cause/").status_code == 405


def test_it_writes_a_title_the_seed_does_not_give(reviewer_client):
    code = (
        Finding.objects.filter(title=TITLE_PLACEHOLDER, document__isnull=False)
        .values_list("code", flat=True)
        .first()
    )

    response = reviewer_client.post(
        f"/findings/{code}/edit/title/", {"text": "Event log versions", "version": "1"}
    )

    assert response.status_code == 302
    assert stored(code).title == "Event log versions"


def test_it_saves_in_a_locked_phase(reviewer_client):
    assert lock_reason_for(stored("BL-006").phase)

    response = reviewer_client.post(
        "/findings/BL-006/edit/root_cause/", {"text": "Written early.", "version": "1"}
    )

    assert response.status_code == 302
    assert stored("BL-006").root_cause == "Written early."


def test_it_warns_before_saving_in_a_signed_phase_and_the_save_revokes(reviewer_client, signoff):
    editor = reviewer_client.get("/findings/SI-001/edit/root_cause/", headers=HTMX)

    assert (
        "Phase 2A is signed off. Saving a change revokes its signoff, which must then be given "
        "again, and relocks phases 2B, 2C, 2D until it is."
    ) in editor.content.decode()
    assert not lock_reason_for(Phase.objects.get(code="2B"))

    reviewer_client.post("/findings/SI-001/edit/root_cause/", {"text": "Changed.", "version": "1"})

    signoff = Signoff.objects.get(pk=signoff.pk)
    assert signoff.revoked_automatically
    assert "SI-001: root cause changed." in signoff.revoke_reason
    assert lock_reason_for(Phase.objects.get(code="2B"))


def test_it_audits_the_save_with_before_and_after(reviewer_client, reviewer):
    reviewer_client.post("/findings/SI-001/edit/effort/", {"text": "2-4", "version": "1"})

    event = AuditEvent.objects.get(action="finding.content_changed")
    assert event.actor == reviewer
    assert event.permission == "findings.edit_content"
    assert event.before == {"effort_min_days": None, "effort_max_days": None, "content_version": 1}
    assert event.after == {"effort_min_days": 2, "effort_max_days": 4, "content_version": 2}


def test_it_shows_the_section_without_its_edit_control_to_a_viewer(client, viewer, catalogue):
    client.force_login(viewer)

    response = client.get("/findings/SI-001/sections/root_cause/", headers=HTMX)

    assert response.status_code == 200
    assert "/edit/" not in response.content.decode()


def test_it_swaps_the_section_back_on_cancel(reviewer_client):
    response = reviewer_client.get("/findings/SI-001/sections/root_cause/", headers=HTMX)
    plain = reviewer_client.get("/findings/SI-001/sections/root_cause/")

    assert response.content.decode().lstrip().startswith('<div id="content-section-root_cause"')
    assert plain.status_code == 302
    assert plain["Location"] == "/findings/SI-001/#content-section-root_cause"
