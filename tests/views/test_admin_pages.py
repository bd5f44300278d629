import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.utils import timezone

from findings.models import (
    ApiToken,
    AuditEvent,
    ChecklistItem,
    Dependency,
    Finding,
    Notification,
    Phase,
    Signoff,
)
from tests.admin_forms import form_data

REGISTERED = sorted(admin.site._registry.items(), key=lambda pair: pair[0]._meta.label_lower)
REGISTERED_IDS = [model._meta.label_lower for model, _ in REGISTERED]
VALID_CODE_HINT = "A finding code is SI, BF or BL, a hyphen and three digits, like SI-001."


def admin_url(model, suffix: str = "") -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


@pytest.fixture
def everything(catalogue, admin_user, lead):
    """At least one row of every registered model."""
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"), signed_by=lead, signed_at=timezone.now()
    )
    Notification.objects.create(
        recipient=lead,
        to_address="lead@example.com",
        kind="signed",
        subject="Phase 2A was signed off",
        body="lead signed phase 2A off.",
    )
    ApiToken.objects.create(
        user=lead, name="laptop", prefix="abcdefgh", digest="1" * 64, scope="read"
    )
    # django-axes registers its login records in the admin too.
    attempt = {
        "user_agent": "pytest",
        "ip_address": "203.0.113.9",
        "username": "intruder",
        "http_accept": "text/html",
        "path_info": "/accounts/login/",
    }
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1)
    AccessFailureLog.objects.create(**attempt)
    AccessLog.objects.create(**attempt)
    assert Group.objects.exists()


@pytest.fixture
def si_001(catalogue):
    return Finding.objects.get(code="SI-001")


def change_url(finding: Finding) -> str:
    return f"/admin/findings/finding/{finding.pk}/change/"


def test_it_registers_every_findings_model():
    registered = {model._meta.label for model, _ in REGISTERED}

    assert registered >= {
        "findings.Phase",
        "findings.TacticalDocument",
        "findings.Finding",
        "findings.Dependency",
        "findings.ChecklistItem",
        "findings.Signoff",
        "findings.AuditEvent",
    }


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=REGISTERED_IDS)
def test_the_changelist_answers(admin_client, everything, model, model_admin):
    response = admin_client.get(admin_url(model))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=REGISTERED_IDS)
def test_the_add_page_answers_unless_the_model_is_read_only(
    admin_client, everything, model, model_admin, rf, admin_user
):
    request = rf.get("/")
    request.user = admin_user

    response = admin_client.get(admin_url(model, "add/"))

    assert response.status_code == (200 if model_admin.has_add_permission(request) else 403)


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=REGISTERED_IDS)
def test_the_change_page_of_an_object_answers(admin_client, everything, model, model_admin):
    obj = model._default_manager.order_by("pk").first()

    response = admin_client.get(admin_url(model, f"{obj.pk}/change/"))

    assert response.status_code == 200
    assert response.context["original"] == obj


def test_the_signoff_and_audit_add_pages_are_refused(admin_client, everything):
    assert admin_client.get("/admin/findings/signoff/add/").status_code == 403
    assert admin_client.get("/admin/findings/auditevent/add/").status_code == 403


def test_the_finding_change_page_shows_the_dependency_and_checklist_inlines(admin_client, si_001):
    response = admin_client.get(change_url(si_001))

    inlines = {
        formset.formset.prefix: formset.formset
        for formset in response.context["inline_admin_formsets"]
    }
    assert response.status_code == 200
    assert sorted(inlines) == ["checklist_items", "dependency_links"]
    assert len(inlines["dependency_links"].forms) == 2
    assert len(inlines["checklist_items"].forms) == 13
    content = response.content.decode()
    assert "Integration with BF-001, BL-002 verified" in content
    assert "Depends on" in content


def test_posting_an_invalid_finding_redisplays_the_form_with_the_errors(admin_client, catalogue):
    data = form_data(admin_client.get("/admin/findings/finding/add/").content.decode())
    data.update(
        code="BAD-1",
        title="Invalid",
        phase=str(Phase.objects.get(code="2A").pk),
        status="planned",
        effort_min_days="5",
        effort_max_days="2",
    )
    events = AuditEvent.objects.count()

    response = admin_client.post("/admin/findings/finding/add/", data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["code"] == [VALID_CODE_HINT]
    assert errors["effort_max_days"] == [
        "The maximum effort (2 days) is less than the minimum (5 days)."
    ]
    content = response.content.decode()
    assert VALID_CODE_HINT in content
    assert "The maximum effort (2 days) is less than the minimum (5 days)." in content
    assert Finding.objects.count() == 30
    assert AuditEvent.objects.count() == events


def test_posting_a_valid_finding_creates_it_with_its_checklist(admin_client, catalogue, admin_user):
    data = form_data(admin_client.get("/admin/findings/finding/add/").content.decode())
    data.update(
        code="SI-008",
        title="Idempotent retries",
        phase=str(Phase.objects.get(code="2D").pk),
        status="planned",
        priority="LOW",
        effort_min_days="1",
        effort_max_days="3",
    )

    response = admin_client.post("/admin/findings/finding/add/", data)

    assert response.status_code == 302
    finding = Finding.objects.get(code="SI-008")
    assert (finding.title, finding.effort_min_days, finding.effort_max_days) == (
        "Idempotent retries",
        1,
        3,
    )
    assert finding.checklist_items.count() == 13
    event = AuditEvent.objects.get(action="finding.created", finding=finding)
    assert (event.actor, event.permission) == (admin_user, "findings.add_finding")


def test_posting_a_dependency_cycle_through_the_inline_shows_the_cycle(admin_client, catalogue):
    bf_001 = Finding.objects.get(code="BF-001")
    si_001 = Finding.objects.get(code="SI-001")
    data = form_data(admin_client.get(change_url(bf_001)).content.decode())
    data.update(
        {
            "dependency_links-TOTAL_FORMS": "1",
            "dependency_links-0-id": "",
            "dependency_links-0-finding": str(bf_001.pk),
            "dependency_links-0-depends_on": str(si_001.pk),
        }
    )

    response = admin_client.post(change_url(bf_001), data)

    assert response.status_code == 200
    assert "This dependency would make a cycle: BF-001 → SI-001 → BF-001." in (
        response.content.decode()
    )
    assert not Dependency.objects.filter(finding=bf_001).exists()


def test_a_title_edit_through_the_admin_records_exactly_the_title(admin_client, si_001, admin_user):
    data = form_data(admin_client.get(change_url(si_001)).content.decode())
    data["title"] = "Transaction management, retitled"
    last = AuditEvent.objects.order_by("-id").first().pk

    response = admin_client.post(change_url(si_001), data)

    assert response.status_code == 302
    si_001.refresh_from_db()
    assert si_001.title == "Transaction management, retitled"
    assert si_001.version == 2
    events = list(AuditEvent.objects.filter(id__gt=last))
    assert [(event.action, event.permission) for event in events] == [
        ("finding.updated", "findings.change_finding")
    ]
    assert events[0].before == {"title": "Enhanced Transaction Management Anti-patterns"}
    assert events[0].after == {"title": "Transaction management, retitled"}
    assert events[0].actor == admin_user


def test_a_title_edit_leaves_the_multiline_migration_sql_as_it_was(admin_client, si_001):
    migration_sql = si_001.migration_sql
    data = form_data(admin_client.get(change_url(si_001)).content.decode())
    data["title"] = "Transaction management, retitled"

    admin_client.post(change_url(si_001), data)

    si_001.refresh_from_db()
    assert si_001.migration_sql == migration_sql


def test_removing_a_dependency_through_the_inline_rewrites_the_checklist(admin_client, si_001):
    data = form_data(admin_client.get(change_url(si_001)).content.decode())
    bl_002 = Dependency.objects.get(finding=si_001, depends_on__code="BL-002")
    row = next(
        key.removesuffix("-id")
        for key, value in data.items()
        if key.startswith("dependency_links-") and key.endswith("-id") and value == str(bl_002.pk)
    )
    data[f"{row}-DELETE"] = "on"

    response = admin_client.post(change_url(si_001), data)

    assert response.status_code == 302
    assert list(si_001.dependency_links.values_list("depends_on__code", flat=True)) == ["BF-001"]
    assert ChecklistItem.objects.get(finding=si_001, names_dependencies=True).text == (
        "Integration with BF-001 verified"
    )
    assert AuditEvent.objects.filter(action="dependency.removed", finding=si_001).count() == 1


def test_the_dependency_autocomplete_finds_findings_by_code(admin_client, catalogue):
    response = admin_client.get(
        "/admin/autocomplete/",
        {
            "term": "SI-00",
            "app_label": "findings",
            "model_name": "dependency",
            "field_name": "depends_on",
        },
    )

    assert response.status_code == 200
    codes = [result["text"].split(":")[0] for result in response.json()["results"]]
    assert codes == ["SI-001", "SI-002", "SI-003", "SI-004", "SI-005", "SI-006", "SI-007"]


def test_adding_a_dependency_through_its_own_admin_is_audited(admin_client, catalogue):
    si_002 = Finding.objects.get(code="SI-002")
    si_001 = Finding.objects.get(code="SI-001")
    last = AuditEvent.objects.order_by("-id").first().pk

    response = admin_client.post(
        "/admin/findings/dependency/add/",
        {"finding": str(si_002.pk), "depends_on": str(si_001.pk), "_save": "Save"},
    )

    assert response.status_code == 302
    assert Dependency.objects.filter(finding=si_002, depends_on=si_001).count() == 1
    assert list(
        AuditEvent.objects.filter(id__gt=last).order_by("id").values_list("action", "permission")
    ) == [
        ("dependency.added", "findings.add_dependency"),
        ("checklist_item.dependencies_changed", "findings.add_dependency"),
    ]
    assert ChecklistItem.objects.get(finding=si_002, names_dependencies=True).text == (
        "Integration with BF-001, BL-002, SI-001 verified"
    )


def test_a_cycle_through_the_dependency_admin_shows_the_cycle(admin_client, catalogue):
    bf_001 = Finding.objects.get(code="BF-001")
    si_001 = Finding.objects.get(code="SI-001")

    response = admin_client.post(
        "/admin/findings/dependency/add/",
        {"finding": str(bf_001.pk), "depends_on": str(si_001.pk), "_save": "Save"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["depends_on"] == [
        "This dependency would make a cycle: BF-001 → SI-001 → BF-001."
    ]
    assert not Dependency.objects.filter(finding=bf_001).exists()


def test_deleting_a_finding_through_the_admin_is_audited(admin_client, si_001):
    # admin.py promises that the admin's writes are audited; this one bypasses the services.
    pk = si_001.pk

    response = admin_client.post(f"/admin/findings/finding/{pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Finding.objects.filter(pk=pk).exists()
    assert AuditEvent.objects.filter(
        object_type="finding", object_id=str(pk), action__endswith="deleted"
    ).exists()


def test_editing_a_phase_through_the_admin_is_audited(admin_client, catalogue):
    phase = Phase.objects.get(code="2B")
    data = form_data(admin_client.get(f"/admin/findings/phase/{phase.pk}/change/").content.decode())
    data["requires_signoff"] = "on"

    response = admin_client.post(f"/admin/findings/phase/{phase.pk}/change/", data)

    assert response.status_code == 302
    phase.refresh_from_db()
    assert phase.requires_signoff
    assert AuditEvent.objects.filter(object_type="phase", object_id=str(phase.pk)).count() == 2
