"""The upload on /documents/: a zip of the edited tree, its preview, and the confirmation."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

from findings.export.snapshot import snapshot_load
from findings.export.tree import zip_stream
from findings.models import AuditEvent, Finding
from findings.services.content import finding_content_save

SI_001 = "phase_2a_foundation/SI-001_TACTICAL_PLAN.md"


def edited_zip(old: bytes = b"[Business impact]", new: bytes = b"Lost updates.") -> bytes:
    with zipfile.ZipFile(io.BytesIO(b"".join(zip_stream(snapshot_load())))) as source:
        files = {name: source.read(name) for name in source.namelist()}
    files[SI_001] = files[SI_001].replace(old, new)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, data in files.items():
            target.writestr(name, data)
    return buffer.getvalue()


def upload(client, data: bytes):
    archive = SimpleUploadedFile("tactical_plans.zip", data)
    return client.post("/documents/import/", {"archive": archive})


def test_it_shows_the_upload_form_to_an_author(reviewer_client):
    response = reviewer_client.get("/documents/import/")

    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content


def test_it_links_the_import_from_the_documents_page_for_authors_only(client, reviewer, viewer):
    client.force_login(reviewer)
    assert b'href="/documents/import/"' in client.get("/documents/").content
    client.force_login(viewer)
    assert b'href="/documents/import/"' not in client.get("/documents/").content


def test_it_refuses_a_viewer(client, viewer, catalogue):
    client.force_login(viewer)

    assert client.get("/documents/import/").status_code == 403
    assert upload(client, edited_zip()).status_code == 403


def test_it_previews_per_document_and_field_and_changes_nothing(reviewer_client):
    events = AuditEvent.objects.count()

    response = upload(reviewer_client, edited_zip())

    assert response.status_code == 200
    assert f'<h3 class="code">{SI_001}</h3>'.encode() in response.content
    assert b"SI-001 impact: written (1 lines)" in response.content
    assert b"+Lost updates." in response.content
    assert Finding.objects.get(code="SI-001").impact == ""
    assert AuditEvent.objects.count() == events


def test_it_applies_the_previewed_zip_on_confirmation(reviewer_client, reviewer):
    preview = upload(reviewer_client, edited_zip())

    response = reviewer_client.post(
        "/documents/import/apply/", {"digest": preview.context["digest"]}
    )

    assert response.status_code == 302
    assert response["Location"] == "/documents/"
    assert Finding.objects.get(code="SI-001").impact == "Lost updates."
    event = AuditEvent.objects.get(action="finding.content_imported")
    assert (event.actor, event.after["file"]) == (reviewer, SI_001)


def test_it_refuses_a_confirmation_of_another_upload(reviewer_client):
    upload(reviewer_client, edited_zip())

    response = reviewer_client.post("/documents/import/apply/", {"digest": "a" * 64})

    assert response.status_code == 409
    assert Finding.objects.get(code="SI-001").impact == ""


def test_it_refuses_on_confirmation_a_section_saved_in_the_tracker_since(
    reviewer_client, system_context
):
    preview = upload(reviewer_client, edited_zip())
    finding_content_save(
        code="SI-001",
        field="impact",
        text="Saved meanwhile.",
        expected_version=Finding.objects.get(code="SI-001").content_version,
        context=system_context,
    )

    response = reviewer_client.post(
        "/documents/import/apply/", {"digest": preview.context["digest"]}
    )

    assert response.status_code == 409
    assert b"SI-001&#x27;s sections impact changed both" in response.content
    assert Finding.objects.get(code="SI-001").impact == "Saved meanwhile."


def test_it_refuses_a_malformed_document_naming_file_and_line(reviewer_client):
    response = upload(reviewer_client, edited_zip(b"## FINDING OVERVIEW", b"## OVERVIEW"))

    assert response.status_code == 422
    missing = "the heading &#x27;## FINDING OVERVIEW&#x27; after this line is missing or renamed"
    assert f"{SI_001}:1: {missing}".encode() in response.content
    assert Finding.objects.get(code="SI-001").impact == ""


def test_it_refuses_a_file_that_is_not_a_zip(reviewer_client):
    response = upload(reviewer_client, b"not a zip")

    assert response.status_code == 422
    assert b"This is not a readable zip file" in response.content


def test_it_refuses_a_get_of_the_confirmation(reviewer_client):
    assert reviewer_client.get("/documents/import/apply/").status_code == 405
