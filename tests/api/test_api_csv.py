"""GET /api/v1/findings/export.csv and /api/v1/audit/export.csv: the pages' CSV, for a token."""

import csv
import io

import pytest

from findings.models import Finding
from findings.services.checklist import Evidence, checklist_item_set
from tests.api.conftest import bearer
from tests.helpers import context_for
from tests.phase_work import item_of

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_downloads_every_finding_the_filters_select(client, read_only_token):
    response = client.get("/api/v1/findings/export.csv?phase=2A", headers=bearer(read_only_token))

    header, *rows = rows_of(response)
    assert response["Content-Disposition"] == 'attachment; filename="findings.csv"'
    assert header[:3] == ["Code", "Title", "Phase"]
    assert [row[0] for row in rows] == ["BF-002", "SI-001", "SI-002"]

    everything = client.get("/api/v1/findings/export.csv", headers=bearer(read_only_token))
    assert len(rows_of(everything)) - 1 == Finding.objects.count() > 20


def test_it_neutralises_a_finding_cell_that_would_run_as_a_formula(client, read_only_token):
    Finding.objects.filter(code="SI-001").update(title="=HYPERLINK(1)")

    response = client.get("/api/v1/findings/export.csv?q=SI-001", headers=bearer(read_only_token))

    assert rows_of(response)[1][1] == "'=HYPERLINK(1)"


def test_it_downloads_the_filtered_audit_events_with_the_evidence(client, ci_bot, ci_token):
    checklist_item_set(
        item_id=item_of("SI-001", 1).pk,
        checked=True,
        expected_version=None,
        context=context_for(ci_bot),
        evidence=Evidence(url="https://ci.example/runs/812", commit="3f2c9a1", summary="-run"),
    )

    response = client.get(
        "/api/v1/audit/export.csv?action=checklist_item.ticked", headers=bearer(ci_token)
    )

    header, *rows = rows_of(response)
    assert response["Content-Disposition"] == 'attachment; filename="audit.csv"'
    [row] = rows
    assert row[header.index("Actor")] == "ci-bot"
    assert row[header.index("Action code")] == "checklist_item.ticked"
    assert '"evidence_summary": "-run"' in row[header.index("After")]


@pytest.mark.parametrize("path", ["/api/v1/findings/export.csv", "/api/v1/audit/export.csv"])
def test_it_refuses_filters_it_does_not_understand_in_json(client, read_only_token, path):
    response = client.get(
        f"{path}?phase=9Z&action=nope&since=never", headers=bearer(read_only_token)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_filter"


@pytest.mark.parametrize("path", ["/api/v1/findings/export.csv", "/api/v1/audit/export.csv"])
def test_it_refuses_an_account_without_a_role_and_an_anonymous_caller(
    client, outsider, catalogue, path
):
    anonymous = client.get(path)
    client.force_login(outsider)
    refused = client.get(path)

    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "unauthenticated")
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
