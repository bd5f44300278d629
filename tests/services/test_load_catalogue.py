from io import StringIO

from django.core.management import call_command

from findings.models import (
    AuditEvent,
    ChecklistItem,
    Dependency,
    Finding,
    Phase,
    TacticalDocument,
)
from findings.services.audit import ActionContext
from findings.services.findings import finding_update

COUNTED = [Phase, TacticalDocument, Finding, Dependency, ChecklistItem, AuditEvent]


def load() -> str:
    out = StringIO()
    call_command("load_catalogue", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_it_creates_the_catalogue_on_the_first_run(db):
    output = load()

    assert output.startswith("Created ")
    assert "SI-001" in output
    assert counts() == {
        "Phase": 4,
        "TacticalDocument": 19,
        "Finding": 30,
        # 23 planned findings each depend on BF-001 and BL-002.
        "Dependency": 46,
        "ChecklistItem": 23 * 13,
        # One event per phase, document, finding and dependency.
        "AuditEvent": 4 + 19 + 30 + 46,
    }


def test_it_records_the_command_as_the_system_actor(db):
    load()

    permissions = set(AuditEvent.objects.values_list("permission", flat=True))
    actors = set(AuditEvent.objects.values_list("actor", "actor_username"))
    request_ids = set(AuditEvent.objects.values_list("request_id", flat=True))

    assert permissions == {"system:load_catalogue"}
    assert actors == {(None, "")}
    # One run is one context, so its events share one id to find them by.
    assert len(request_ids) == 1
    assert request_ids.pop().startswith("load_catalogue-")
    assert AuditEvent.objects.filter(action="finding.created").count() == 30


def test_it_changes_nothing_on_a_second_run(db):
    load()
    before = counts()
    last_event = AuditEvent.objects.order_by("-id").first().pk

    output = load()

    assert output.strip() == "The catalogue is already loaded: nothing changed."
    assert counts() == before
    assert AuditEvent.objects.order_by("-id").first().pk == last_event


def test_it_keeps_an_admins_edit_of_a_title_on_a_rerun(db, admin_user):
    load()
    finding = Finding.objects.get(code="SI-001")
    finding.title = "Transaction management, retitled by an admin"
    finding_update(finding=finding, context=ActionContext(actor=admin_user))

    output = load()

    finding.refresh_from_db()
    assert finding.title == "Transaction management, retitled by an admin"
    assert "nothing changed" in output
