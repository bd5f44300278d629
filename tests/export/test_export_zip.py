"""/export/tactical_plans.zip streams the same files, byte for byte, as export_tactical_docs."""

import io
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.http import StreamingHttpResponse

from findings.export.tree import MANIFEST
from findings.models import ChecklistItem, Finding, TacticalDocument

URL = "/export/tactical_plans.zip"
# Session, user, permissions, and the export's thirteen reads (seven for the documents, six for
# their figures), however many findings there are.
QUERIES = 16


def downloaded(client) -> tuple[StreamingHttpResponse, list[bytes]]:
    response = client.get(URL)
    return response, list(response.streaming_content)


def archive_files(chunks: list[bytes]) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_it_streams_the_same_files_and_bytes_as_the_command(viewer_client, tmp_path):
    call_command("export_tactical_docs", "--out", str(tmp_path), stdout=StringIO())
    written = {
        path.relative_to(tmp_path).as_posix(): path.read_bytes()
        for path in tmp_path.rglob("*")
        if path.is_file() and path.name != MANIFEST
    }

    response, chunks = downloaded(viewer_client)

    assert archive_files(chunks) == written


def test_it_streams_file_by_file_instead_of_building_the_zip_in_memory(viewer_client):
    response, chunks = downloaded(viewer_client)

    assert isinstance(response, StreamingHttpResponse)
    # One chunk per file as it is rendered (README.md and 19 documents), then the directory.
    assert len(chunks) == 21
    assert all(chunks)
    assert not response.has_header("Content-Length")


def test_it_gives_the_same_bytes_every_time(viewer_client):
    assert b"".join(downloaded(viewer_client)[1]) == b"".join(downloaded(viewer_client)[1])


def test_it_names_the_download(viewer_client):
    response, _ = downloaded(viewer_client)

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="tactical_plans.zip"'


def test_it_sends_anonymous_visitors_to_log_in(client, catalogue):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_serves_every_role(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response, chunks = downloaded(client)

    assert response.status_code == 200
    assert "README.md" in archive_files(chunks)


def test_it_refuses_a_signed_in_user_without_a_role(client, catalogue, outsider):
    client.force_login(outsider)

    response = client.get(URL)

    assert response.status_code == 403
    assert "SI-001" not in response.content.decode()


def test_it_refuses_other_methods(viewer_client):
    assert viewer_client.post(URL).status_code == 405


def test_it_refuses_a_document_name_that_would_leave_the_tree(viewer_client):
    TacticalDocument.objects.filter(file_name="SI-001_TACTICAL_PLAN.md").update(
        file_name="../SI-001.md"
    )

    response = viewer_client.get(URL)

    assert response.status_code == 409
    assert "not a plain file or folder name" in response.content.decode()


def test_it_reads_the_database_a_fixed_number_of_times(
    viewer_client, django_assert_num_queries, system_context
):
    with django_assert_num_queries(QUERIES):
        downloaded(viewer_client)
    Finding.objects.filter(code__startswith="BL-01").update(problem_statement="Written.")
    ChecklistItem.objects.filter(finding__code="SI-002").update(text="Changed")

    with django_assert_num_queries(QUERIES):
        downloaded(viewer_client)
