"""/documents/<file name>/: one exported file's QA failures, its preview and its markdown."""

import re

import pytest

from findings.models import Finding
from findings.services.findings import finding_update

URL = "/documents/SI-001_TACTICAL_PLAN.md/"
# Session, user, permissions, and the export's thirteen reads (six of them for the phases'
# figures), however many findings there are.
QUERIES = 16
# The README's page draws the plan's dependency graph the export has read already.
README_QUERIES = QUERIES


def test_it_sends_anonymous_visitors_to_log_in(client, catalogue):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_shows_every_role_the_document(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 200


def test_it_refuses_a_signed_in_user_without_a_role(client, catalogue, outsider):
    client.force_login(outsider)

    response = client.get(URL)

    assert response.status_code == 403
    assert "SI-001" not in response.content.decode()


def test_it_refuses_other_methods(viewer_client):
    assert viewer_client.post(URL).status_code == 405


@pytest.mark.parametrize(
    "url",
    [
        "/documents/SI-099_TACTICAL_PLAN.md/",
        "/documents/si-001_tactical_plan.md/",
        "/documents/.tactical_export/",
        "/documents/phase_2a_foundation/",
    ],
)
def test_it_answers_404_for_a_file_it_does_not_export(viewer_client, url):
    assert viewer_client.get(url).status_code == 404


def test_it_lists_the_qa_failures_with_section_and_line(viewer_client):
    page = viewer_client.get(URL).content.decode()

    assert "Document QA: 32 failures" in page
    assert (
        '<tr><td><a href="#L46">46</a></td><td>Section 3 Go Implementation</td>'
        "<td>placeholder</td><td>unfilled template placeholder [EntityName]</td></tr>"
    ) in page
    assert '<li class="qa-fail">✗ Go parses: 10 failures</li>' in page
    assert '<li class="qa-pass">✓ Links resolve</li>' in page


def test_it_shows_each_section_written_or_not_and_passing_or_not(reviewer_client):
    page = reviewer_client.get(URL).content.decode()

    title = page.split('<tr id="section-SI-001-title" class="qa-pass">')[1].split("</tr>")[0]
    assert "<td>Written</td>" in title
    assert "✓ Passes" in title
    effort = page.split('<tr id="section-SI-001-effort" class="qa-fail">')[1].split("</tr>")[0]
    assert "<td>Not written</td>" in effort
    assert '<a href="/findings/SI-001/edit/effort/">✗ Fix it</a>: not written' in effort


def test_it_links_no_editor_for_a_viewer_who_cannot_write(viewer_client):
    page = viewer_client.get(URL).content.decode()

    effort = page.split('<tr id="section-SI-001-effort" class="qa-fail">')[1].split("</tr>")[0]
    assert "<td>✗ Fails: not written</td>" in effort
    assert "/edit/" not in page


def test_it_says_the_migration_sandbox_is_off_without_its_database(viewer_client, settings):
    settings.QA_SANDBOX_DATABASE_URL = ""

    page = viewer_client.get(URL).content.decode()

    assert "Migration sandbox off: QA_SANDBOX_DATABASE_URL is not set" in page


def test_it_shows_the_rendered_preview_and_the_raw_markdown(viewer_client):
    page = viewer_client.get(URL).content.decode()

    assert "<h1>SI-001: Enhanced Transaction Management Anti-patterns" in page
    assert (
        '<span class="raw-line" id="L1"># SI-001: Enhanced Transaction Management '
        "Anti-patterns - TACTICAL IMPLEMENTATION PLAN</span>"
    ) in page
    assert '<span class="raw-line" id="L46">type [EntityName]Manager struct {</span>' in page


def test_it_shows_the_readme_index(viewer_client):
    page = viewer_client.get("/documents/README.md/").content.decode()

    assert "Document QA: passes every check" in page
    assert "<h1>DomainFlow Tactical Implementation Plans</h1>" in page


def test_it_sanitises_what_a_finding_holds(viewer_client, system_context):
    finding = Finding.objects.get(code="SI-001")
    finding.problem_statement = '<script>alert("x")</script> [click](javascript:alert(1))'
    finding_update(finding=finding, context=system_context)

    page = viewer_client.get(URL).content.decode()

    assert "<script>alert" not in page
    assert "javascript:" not in page.split('id="raw-heading"')[0]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_it_reads_the_database_a_fixed_number_of_times(
    page_cache_off, viewer_client, django_assert_num_queries, system_context
):
    with django_assert_num_queries(QUERIES):
        viewer_client.get(URL)
    finding = Finding.objects.get(code="SI-001")
    finding.go_implementation = "package store\n"
    finding_update(finding=finding, context=system_context)

    with django_assert_num_queries(QUERIES):
        viewer_client.get(URL)
    with django_assert_num_queries(README_QUERIES):
        viewer_client.get("/documents/README.md/")


def test_it_points_the_readme_preview_links_at_the_pages_here(viewer_client):
    content = viewer_client.get("/documents/README.md/").content.decode()

    preview = content[content.index('class="document-preview"') : content.index('id="raw-heading"')]
    links = re.findall(r'<a href="([^"]+)"', preview)
    assert '<a href="/documents/SI-001_TACTICAL_PLAN.md/"' in preview
    assert '<a href="/phases/2A/"' in preview
    # Every link of the preview answers, none is left relative to /documents/README.md/.
    assert links
    for link in links:
        assert link.startswith("/"), link
        assert viewer_client.get(link).status_code == 200, link
