"""Document file names and phase folder names are plain names, refused on save if not."""

from html import unescape

import pytest
from django.core.exceptions import ValidationError

from findings import seed
from findings.models import Phase, TacticalDocument
from findings.services.catalogue import catalogue_object_save
from tests.admin_forms import form_data

FILE_RULE = "A document's file name is one plain name ending in .md"
FOLDER_RULE = "A folder name is one plain name"
UNSAFE_FILE_NAMES = [
    "../../evil.md",
    ".",
    "..",
    ".hidden.md",
    "a/b.md",
    "a\\b.md",
    "a..md",
    "evil",
    "evil.txt",
    "evil.md/",
    "evil.md\n",
    " evil.md",
    "évil.md",
    "x" * 91 + ".md",
]
UNSAFE_FOLDER_NAMES = [".", "..", ".hidden", "../phase", "a/b", "a\\b", "phase 2a", "phase\n"]
URL = "/export/tactical_plans.zip"


def field_errors(model, name: str, value: str) -> list[str]:
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as refused:
        return refused.messages
    return []


@pytest.mark.parametrize("file_name", UNSAFE_FILE_NAMES, ids=ascii)
def test_it_refuses_an_unsafe_document_file_name(file_name):
    assert any(message.startswith(FILE_RULE) for message in field_errors(
        TacticalDocument, "file_name", file_name
    ))  # fmt: skip


@pytest.mark.parametrize("folder_name", UNSAFE_FOLDER_NAMES, ids=ascii)
def test_it_refuses_an_unsafe_folder_name(folder_name):
    assert any(message.startswith(FOLDER_RULE) for message in field_errors(
        Phase, "folder_name", folder_name
    ))  # fmt: skip


def test_it_accepts_every_name_of_the_seed():
    for phase in seed.PHASES:
        assert field_errors(Phase, "folder_name", phase.folder_name) == []
        assert field_errors(Phase, "name", phase.name) == []
    for document in seed.DOCUMENTS:
        assert field_errors(TacticalDocument, "file_name", document.file_name) == []
        assert field_errors(TacticalDocument, "title", document.title) == []


def test_the_catalogue_service_refuses_an_unsafe_file_name(catalogue, system_context):
    document = TacticalDocument.objects.get(file_name="SI-001_TACTICAL_PLAN.md")
    document.file_name = "../../evil.md"

    with pytest.raises(ValidationError, match=FILE_RULE):
        catalogue_object_save(obj=document, context=system_context)

    assert TacticalDocument.objects.filter(file_name="SI-001_TACTICAL_PLAN.md").exists()


def test_the_admin_refuses_an_unsafe_file_name_and_the_zip_still_downloads(admin_client, catalogue):
    document = TacticalDocument.objects.get(file_name="SI-001_TACTICAL_PLAN.md")
    url = f"/admin/findings/tacticaldocument/{document.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data["file_name"] = ".hidden.md"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert FILE_RULE in unescape(response.content.decode())
    assert admin_client.get(URL).status_code == 200


def test_the_admin_refuses_an_unsafe_folder_name(admin_client, catalogue):
    phase = Phase.objects.get(code="2A")
    url = f"/admin/findings/phase/{phase.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data["folder_name"] = "../outside"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert FOLDER_RULE in response.content.decode()
    assert Phase.objects.get(code="2A").folder_name == "phase_2a_foundation"


def test_the_zip_refuses_a_name_written_behind_validation_as_plain_utf8_text(
    client, viewer, catalogue
):
    TacticalDocument.objects.filter(file_name="SI-001_TACTICAL_PLAN.md").update(
        file_name="../../évil.md"
    )
    client.force_login(viewer)

    response = client.get(URL)

    assert response.status_code == 409
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "'../../évil.md' (" in response.content.decode("utf-8")
