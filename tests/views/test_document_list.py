"""/documents/: every exported file in sequence, with its status, progress and QA result."""

import re

import pytest

from findings.models import Finding, Phase, TacticalDocument
from findings.services.findings import finding_create, finding_update

URL = "/documents/"
# Session, user, permissions, and the six reads of the plan's state that key the cached QA,
# however many findings and documents there are; computing it adds the export's thirteen reads.
QUERIES_CACHED = 9
QUERIES = QUERIES_CACHED + 13


def rows(response) -> list[str]:
    return re.findall(r'<a class="code" href="/documents/([^/]+)/">', response.content.decode())


def test_it_sends_anonymous_visitors_to_log_in(client, catalogue):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_shows_every_role_the_documents(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(URL).status_code == 200


def test_it_refuses_a_signed_in_user_without_a_role(client, catalogue, outsider):
    client.force_login(outsider)

    response = client.get(URL)

    assert response.status_code == 403
    assert "SI-001" not in response.content.decode()


def test_it_refuses_other_methods(viewer_client):
    assert viewer_client.post(URL).status_code == 405


def test_it_lists_the_index_then_the_documents_in_generation_sequence(viewer_client):
    listed = rows(viewer_client.get(URL))

    assert listed[0] == "README.md"
    assert listed[1:4] == [
        "SI-001_TACTICAL_PLAN.md",
        "SI-002_TACTICAL_PLAN.md",
        "BF-002_TACTICAL_PLAN.md",
    ]
    assert listed[-1] == "REMAINING_FINDINGS_TACTICAL_PLAN.md"
    assert len(listed) == 20


def test_it_shows_each_documents_qa_result_and_failure_count(viewer_client):
    page = viewer_client.get(URL).content.decode()

    assert '<span class="qa-badge qa-pass">Pass</span>' in page
    assert (
        '<a class="qa-badge qa-fail" href="/documents/SI-001_TACTICAL_PLAN.md/#qa">Fail: 32</a>'
    ) in page
    assert "Document QA: 1 of 20 files pass every check" in page


def test_it_counts_problems_by_finding_and_field_in_the_headline(viewer_client, settings):
    settings.QA_SANDBOX_DATABASE_URL = ""

    page = viewer_client.get(URL).content.decode()

    assert (
        "QA failed: 303 problems by finding and field (SQL parses: 10, Sections written: 293) "
        "in 23 of 23 findings."
    ) in page


def test_it_shows_each_documents_sections_written_and_failing(viewer_client):
    page = viewer_client.get(URL).content.decode()

    assert '<span class="section-counts">2/14 written, 13 failing</span>' in page


def test_it_links_each_failing_section_to_its_editor(reviewer_client):
    page = reviewer_client.get(URL).content.decode()

    assert (
        '<li><a href="/findings/SI-001/edit/effort/" title="not written">SI-001 Estimated effort'
        "</a>: not written</li>"
    ) in page
    assert '<a href="/documents/SI-001_TACTICAL_PLAN.md/#sections">all 13 on its page</a>' in page


def test_it_names_the_failing_sections_without_editor_links_to_a_viewer(viewer_client):
    page = viewer_client.get(URL).content.decode()

    assert "<li>SI-001 Estimated effort: not written</li>" in page
    assert "/edit/" not in page


def test_it_says_the_migration_sandbox_is_off_without_its_database(viewer_client, settings):
    settings.QA_SANDBOX_DATABASE_URL = ""

    page = viewer_client.get(URL).content.decode()

    assert "Migration sandbox off: QA_SANDBOX_DATABASE_URL is not set" in page


def test_it_answers_from_the_cache_until_a_section_changes(
    page_cache_off, viewer_client, django_assert_num_queries, system_context
):
    viewer_client.get(URL)
    with django_assert_num_queries(QUERIES_CACHED):
        viewer_client.get(URL)
    finding = Finding.objects.get(code="SI-001")
    finding.problem_statement = "Transactions hold row locks across network calls."
    finding_update(finding=finding, context=system_context)

    with django_assert_num_queries(QUERIES):
        page = viewer_client.get(URL).content.decode()

    assert '<span class="section-counts">3/14 written, 12 failing</span>' in page


def test_it_shows_phase_findings_status_and_progress(viewer_client):
    page = viewer_client.get(URL).content.decode()

    assert '<a href="/phases/2D/">2D Architecture</a>' in page
    assert '<a class="code" href="/findings/BL-014/">BL-014</a>' in page
    assert "<td>Planned</td>" in page
    assert "0/65</span>" in page


def test_it_links_to_the_zip(viewer_client):
    assert 'href="/export/tactical_plans.zip"' in viewer_client.get(URL).content.decode()


def test_it_reads_the_database_a_fixed_number_of_times(
    page_cache_off, viewer_client, django_assert_num_queries, system_context
):
    with django_assert_num_queries(QUERIES):
        viewer_client.get(URL)
    phase = Phase.objects.get(code="2D")
    document = TacticalDocument.objects.get(file_name="REMAINING_FINDINGS_TACTICAL_PLAN.md")
    for number in range(15, 25):
        finding_create(
            context=system_context,
            code=f"BL-0{number}",
            title="More",
            phase=phase,
            document=document,
            depends_on=Finding.objects.filter(code="BF-001"),
        )

    with django_assert_num_queries(QUERIES):
        response = viewer_client.get(URL)
    assert "0/195</span>" in response.content.decode()
