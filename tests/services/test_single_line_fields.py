"""One-line fields (titles, phase, document and folder names) refuse line breaks and controls."""

import pytest
from django.core.exceptions import ValidationError

from findings.models import Finding, Phase, TacticalDocument
from findings.services.catalogue import catalogue_object_save
from tests.admin_forms import form_data

RULE = "This field is one line of text"
LINE_BREAKING = ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"]
ONE_LINE_FIELDS = [
    (Finding, "SI-001", "title"),
    (Phase, "2A", "name"),
    (Phase, "2A", "folder_name"),
    (TacticalDocument, "SI-001_TACTICAL_PLAN.md", "title"),
    (TacticalDocument, "SI-001_TACTICAL_PLAN.md", "file_name"),
]


def seeded(model, key: str):
    lookup = {Finding: "code", Phase: "code", TacticalDocument: "file_name"}[model]
    return model.objects.get(**{lookup: key})


@pytest.mark.parametrize("character", LINE_BREAKING, ids=ascii)
@pytest.mark.parametrize(
    ("model", "key", "name"),
    ONE_LINE_FIELDS,
    ids=[f"{model.__name__}.{name}" for model, _, name in ONE_LINE_FIELDS],
)
def test_it_refuses_a_control_character_in_a_one_line_field(model, key, name, character):
    # The field's own validation, which full_clean runs for the admin, the services and commands.
    with pytest.raises(ValidationError) as refused:
        model._meta.get_field(name).clean(f"phase{character}2a", None)

    assert refused.value.messages[0].startswith(RULE)
    assert ascii(character) in refused.value.messages[0]


def test_it_accepts_the_seeded_one_line_values(catalogue):
    for model, key, _ in ONE_LINE_FIELDS:
        seeded(model, key).full_clean()


def test_the_catalogue_service_refuses_a_phase_name_with_a_line_break(catalogue, system_context):
    phase = Phase.objects.get(code="2A")
    phase.name = 'Foundation"]\n    click SI_001 "javascript:alert(1)"'

    with pytest.raises(ValidationError, match=RULE):
        catalogue_object_save(obj=phase, context=system_context)

    assert Phase.objects.get(code="2A").name == "Foundation"


def test_the_admin_refuses_a_phase_name_with_a_line_break(admin_client, catalogue):
    phase = Phase.objects.get(code="2A")
    url = f"/admin/findings/phase/{phase.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data["name"] = "Foundation\nclick SI_001 evil"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert RULE in response.content.decode()
    assert Phase.objects.get(code="2A").name == "Foundation"


def test_the_admin_refuses_a_document_title_with_a_paragraph_separator(admin_client, catalogue):
    document = TacticalDocument.objects.get(file_name="SI-001_TACTICAL_PLAN.md")
    url = f"/admin/findings/tacticaldocument/{document.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data["title"] = "Enhanced\u2029# Injected heading"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert RULE in response.content.decode()
    document.refresh_from_db()
    assert document.title == "Enhanced Transaction Management Anti-patterns"
