"""`/findings/export.csv` and `/audit/export.csv`: the filtered rows of each table, as CSV."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from findings.models import Finding, Phase
from findings.roles import REVIEWER
from findings.services.tokens import token_create
from findings.views.csv_export import spreadsheet_safe
from tests.helpers import context_for


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_it_neutralises_a_cell_that_would_start_a_formula(trigger):
    assert spreadsheet_safe(f"{trigger}HYPERLINK(1)") == f"'{trigger}HYPERLINK(1)"


def test_it_leaves_other_cells_as_they_are():
    assert [spreadsheet_safe(value) for value in ("SI-001", "a=b", 3, -2, None, True)] == [
        "SI-001",
        "a=b",
        3,
        -2,
        "",
        "yes",
    ]


# GET /findings/export.csv


def test_it_downloads_the_filtered_findings_every_page_of_them(viewer_client):
    response = viewer_client.get("/findings/export.csv?phase=2A")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="findings.csv"'
    header, *rows = rows_of(response)
    assert header[:3] == ["Code", "Title", "Phase"]
    assert [row[0] for row in rows] == ["BF-002", "SI-001", "SI-002"]
    assert {row[2] for row in rows} == {"2A"}
    assert rows[1][9:11] == ["0", "13"]

    everything = rows_of(viewer_client.get("/findings/export.csv"))[1:]
    assert len(everything) == Finding.objects.count() > 20


def test_it_neutralises_a_title_that_would_run_as_a_formula(viewer_client):
    Finding.objects.filter(code="SI-001").update(title='=HYPERLINK("http://evil","x")')

    rows = rows_of(viewer_client.get("/findings/export.csv?q=SI-001"))

    assert rows[1][1] == '\'=HYPERLINK("http://evil","x")'


def test_it_refuses_filters_it_does_not_understand_with_a_400(viewer_client):
    response = viewer_client.get("/findings/export.csv?phase=9Z")

    assert response.status_code == 400
    assert "Phase" in response.content.decode()


def test_it_refuses_an_account_without_a_role(client, outsider):
    client.force_login(outsider)

    assert client.get("/findings/export.csv").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_it_answers_post_with_405(viewer_client):
    assert viewer_client.post("/findings/export.csv").status_code == 405
    assert viewer_client.post("/audit/export.csv").status_code == 405


def test_it_reads_the_same_number_of_queries_however_many_findings(viewer_client):
    def queries_of_export() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows_of(viewer_client.get("/findings/export.csv"))
        return len(captured)

    before = queries_of_export()
    Finding.objects.bulk_create(
        Finding(code=f"BL-{n:03d}", title="More", phase=Phase.objects.first())
        for n in range(500, 560)
    )

    assert queries_of_export() == before


def test_the_findings_page_links_the_export_with_its_filters(viewer_client):
    html = viewer_client.get("/findings/?phase=2A&status=planned").content.decode()

    assert 'href="/findings/export.csv?phase=2A&amp;status=planned"' in html


# GET /audit/export.csv


def test_it_downloads_the_filtered_audit_events_with_neutralised_names(viewer_client, catalogue):
    user = get_user_model().objects.create_user(username="+pipeline", password="x" * 20)
    user.groups.set([Group.objects.get(name=REVIEWER)])
    token_create(user=user, name="-ci", scope="read", expires_at=None, context=context_for(user))

    response = viewer_client.get("/audit/export.csv?actor=%2Bpipeline")

    assert response["Content-Disposition"] == 'attachment; filename="audit.csv"'
    header, *rows = rows_of(response)
    assert header[:4] == ["Time (UTC)", "Actor", "Action", "Action code"]
    assert [row[1:4] for row in rows] == [["'+pipeline", "API token created", "api_token.created"]]
    assert rows[0][4].startswith("'-ci (dft_")
    assert '"name": "-ci"' in rows[0][9]


def test_it_reads_the_audit_export_in_the_same_number_of_queries_however_many_events(
    viewer_client, reviewer
):
    def queries_of_export() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows_of(viewer_client.get("/audit/export.csv"))
        return len(captured)

    before = queries_of_export()
    for n in range(30):
        token_create(
            user=reviewer,
            name=f"t{n}",
            scope="read",
            expires_at=None,
            context=context_for(reviewer),
        )

    assert queries_of_export() == before


def test_the_audit_page_links_the_export_with_its_filters(viewer_client):
    html = viewer_client.get("/audit/?actor=system").content.decode()

    assert 'href="/audit/export.csv?actor=system"' in html
