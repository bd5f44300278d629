import pytest
from django.db import transaction

from findings.models import AppendOnlyError, AuditEvent, Phase
from findings.services.audit import audit_record

# The app's work runs as the app's own role on PostgreSQL, as it does in production.
pytestmark = pytest.mark.usefixtures("as_app_role")


@pytest.fixture
def event(db, system_context):
    phase = Phase.objects.create(
        code="2A", name="Foundation", priority_band="CRITICAL", folder_name="p2a", order=1
    )
    return audit_record(
        context=system_context,
        action="phase.created",
        obj=phase,
        permission="system:test",
        after={"code": "2A"},
    )


def stored(event: AuditEvent) -> tuple:
    return AuditEvent.objects.filter(pk=event.pk).values_list("action", "object_repr").get()


def test_it_refuses_a_queryset_update(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(action="phase.deleted")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="phase.deleted")

    assert stored(event) == ("phase.created", "Phase 2A Foundation")


def test_it_refuses_a_queryset_delete(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.count() == 1


def test_it_refuses_saving_an_existing_event(event):
    event.action = "phase.deleted"

    with pytest.raises(AppendOnlyError):
        event.save()

    assert stored(event) == ("phase.created", "Phase 2A Foundation")


def test_it_refuses_saving_a_freshly_loaded_event(event):
    loaded = AuditEvent.objects.get(pk=event.pk)
    loaded.object_repr = "rewritten"

    with pytest.raises(AppendOnlyError):
        loaded.save()

    assert stored(event) == ("phase.created", "Phase 2A Foundation")


def test_it_refuses_deleting_an_event(event):
    with pytest.raises(AppendOnlyError):
        event.delete()

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_refuses_bulk_update(event):
    event.action = "phase.deleted"

    # bulk_update opens its transaction without a savepoint, so the test gives it one.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["action"])

    assert stored(event) == ("phase.created", "Phase 2A Foundation")


def test_it_still_appends_new_events(event, system_context):
    audit_record(
        context=system_context, action="phase.checked", obj=event, permission="system:test"
    )

    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "phase.created",
        "phase.checked",
    ]


def test_the_admin_shows_an_event_read_only(admin_client, event):
    response = admin_client.get(f"/admin/findings/auditevent/{event.pk}/change/")

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert b'name="_save"' not in response.content
    assert b'name="_continue"' not in response.content
    assert b"phase.created" in response.content


def test_the_admin_refuses_a_post_to_an_events_change_view(admin_client, event):
    response = admin_client.post(
        f"/admin/findings/auditevent/{event.pk}/change/",
        {"action": "phase.deleted", "_save": "Save"},
    )

    assert response.status_code == 403
    assert stored(event) == ("phase.created", "Phase 2A Foundation")


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_admin_refuses_to_delete_an_event(admin_client, event, method):
    url = f"/admin/findings/auditevent/{event.pk}/delete/"

    response = getattr(admin_client, method)(url, {"post": "yes"})

    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_admin_offers_no_bulk_delete_of_events(admin_client, event):
    page = admin_client.get("/admin/findings/auditevent/")
    response = admin_client.post(
        "/admin/findings/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert page.status_code == 200
    assert b"delete_selected" not in page.content
    assert response.status_code in (200, 302, 403)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
