"""The audit log at /audit/: access, filters, links, paging, HTMX and query count."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from findings.audit_chain import chain_append
from findings.audit_display import ACTION_NAMES
from findings.models import AuditEvent, ChecklistItem
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_set

# Session, user, the user's permissions (own and groups' in one), the action choices, the row
# count and the rows (with their findings).
FULL_PAGE_QUERIES = 6
# The catalogue load records 4 phases, 19 documents, 30 findings and 46 dependencies.
SEEDED_EVENTS = 99
# Each persona's account: created, then its groups changed as it joins its role.
PERSONA_EVENTS = 2
REQUEST_ID = "req-0123456789abcdef"


def rows_in(response) -> int:
    return response.content.decode().count("<time datetime=")


def actions_in(response) -> list[str]:
    return re.findall(
        r'<span class="audit-action" data-action="([a-z_.]+)"', response.content.decode()
    )


@pytest.fixture
def tick(reviewer, catalogue):
    """The reviewer ticks SI-001's first item: the newest event, and the only one with a user."""
    item = ChecklistItem.objects.get(finding__code="SI-001", position=1)
    return checklist_item_set(
        item_id=item.pk,
        checked=True,
        expected_version=item.version,
        context=ActionContext(actor=reviewer, request_id=REQUEST_ID),
    )


def append_event(**fields) -> AuditEvent:
    """Append an event to the audit chain the only way the app allows, through the chain head."""
    with transaction.atomic():
        return chain_append(AuditEvent(created_at=timezone.now(), **fields))


def add_generated_events(count: int) -> None:
    for n in range(count):
        append_event(
            actor_username=f"user{n % 7}",
            action=f"generated.action_{n % 10}",
            object_type="finding",
            object_id=str(n),
            object_repr=f"Generated event {n}",
            permission="findings.change_finding",
            request_id=f"generated-{n}",
        )


def test_it_sends_anonymous_visitors_to_log_in(client, catalogue):
    response = client.get("/audit/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/audit/"


def test_it_refuses_users_without_a_role(client, outsider, catalogue):
    client.force_login(outsider)

    assert client.get("/audit/").status_code == 403


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_shows_every_role_the_log(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = client.get("/audit/")

    assert response.status_code == 200
    assert "finding.created" in response.content.decode()


def test_it_refuses_post(viewer_client):
    assert viewer_client.post("/audit/").status_code == 405


def test_it_lists_the_newest_event_first_with_who_did_what(viewer_client, tick):
    response = viewer_client.get("/audit/")

    content = response.content.decode()
    assert response.status_code == 200
    assert actions_in(response)[0] == "checklist_item.ticked"
    first_row = content[content.index("<tbody") : content.index("</tr>", content.index("<tbody"))]
    assert "<td>reviewer</td>" in first_row
    assert "findings.tick_checklistitem" in first_row
    assert REQUEST_ID in first_row
    # The viewer and the reviewer, the catalogue, and the tick.
    assert f"Events 1–50 of {2 * PERSONA_EVENTS + SEEDED_EVENTS + 1}" in content


def test_it_names_events_without_a_user_system(viewer_client):
    content = viewer_client.get("/audit/?action=phase.created").content.decode()

    assert content.count("<td>system</td>") == 4
    assert "system:test" in content


def test_it_links_events_about_a_finding_to_its_page(viewer_client):
    content = viewer_client.get("/audit/?action=finding.created&finding=SI-001").content.decode()

    assert '<a href="/findings/SI-001/" hx-boost="false">SI-001: ' in content


def test_it_shows_events_about_other_objects_without_a_link(viewer_client):
    content = viewer_client.get("/audit/?action=phase.created").content.decode()

    assert "<td>Phase 2A Foundation</td>" in content


def test_it_shows_an_event_whose_finding_is_gone_without_a_link(viewer_client):
    # The finding link has no database constraint, so an event may outlive its finding.
    append_event(
        action="finding.deleted",
        object_type="finding",
        object_id="999999",
        object_repr="SI-999: Deleted finding",
        finding_id=999999,
        permission="findings.delete_finding",
    )

    response = viewer_client.get("/audit/?action=finding.deleted")

    assert response.status_code == 200
    assert "<td>SI-999: Deleted finding</td>" in response.content.decode()


def test_it_offers_the_recorded_actions_as_choices(viewer_client, tick):
    content = viewer_client.get("/audit/").content.decode()

    options = re.findall(r'<option value="([a-z_.]+)">(.*?)</option>', content)
    # By their names, as people look for them.
    assert options == [
        ("user.created", "account created"),
        ("dependency.added", "dependency added"),
        ("document.created", "document created"),
        ("finding.created", "finding created"),
        ("phase.created", "phase created"),
        ("user.groups_changed", "roles changed"),
        ("checklist_item.ticked", "ticked"),
    ]


def test_it_filters_by_action(viewer_client):
    response = viewer_client.get("/audit/?action=phase.created")

    assert actions_in(response) == ["phase.created"] * 4


def test_it_filters_by_actor(viewer_client, tick):
    by_name = viewer_client.get("/audit/?actor=REVIEW")
    system = viewer_client.get("/audit/?actor=system")

    assert actions_in(by_name) == ["checklist_item.ticked"]
    assert "checklist_item.ticked" not in actions_in(system)
    assert f"of {2 * PERSONA_EVENTS + SEEDED_EVENTS}" in system.content.decode()


def test_it_filters_by_finding_code(viewer_client, tick):
    response = viewer_client.get("/audit/?finding=si-001")

    assert actions_in(response) == [
        "checklist_item.ticked",
        "dependency.added",
        "dependency.added",
        "finding.created",
    ]


def test_it_filters_by_date_range(viewer_client):
    today = timezone.localdate()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)

    assert rows_in(viewer_client.get(f"/audit/?since={today}&until={today}")) == 50
    assert rows_in(viewer_client.get(f"/audit/?since={tomorrow}")) == 0
    assert rows_in(viewer_client.get(f"/audit/?until={yesterday}")) == 0


def test_it_sorts_oldest_first_on_request(viewer_client, tick):
    response = viewer_client.get("/audit/?sort=created_at")

    # The viewer's account was made before the catalogue was loaded.
    assert actions_in(response)[:3] == ["user.created", "user.groups_changed", "phase.created"]
    assert 'aria-sort="ascending"' in response.content.decode()


def test_it_offers_sorting_only_by_time_actor_and_action(viewer_client):
    content = viewer_client.get("/audit/").content.decode()

    assert '<th class="desc orderable" aria-sort="descending">' in content
    assert 'href="?sort=created_at">Time</a>' in content
    assert 'href="?sort=actor_username">Actor</a>' in content
    assert "<th>Object</th>" in content
    assert "<th>Request id</th>" in content


def test_it_keeps_the_chosen_action_selected_in_the_form(viewer_client):
    content = viewer_client.get("/audit/?action=phase.created").content.decode()

    assert '<option value="phase.created" selected>phase created</option>' in content
    assert '<form id="audit-filters" class="card table-filters" method="get" action="/audit/"' in (
        content
    )


def test_it_sorts_by_action(viewer_client, tick):
    assert actions_in(viewer_client.get("/audit/?sort=action"))[0] == "checklist_item.ticked"
    assert actions_in(viewer_client.get("/audit/?sort=-action"))[0] == "user.groups_changed"


def test_it_pages_50_events_at_a_time(viewer_client):
    first = viewer_client.get("/audit/")
    last = viewer_client.get("/audit/?page=3")

    assert rows_in(first) == 50
    assert rows_in(last) == PERSONA_EVENTS + SEEDED_EVENTS - 100
    assert actions_in(last)[-1] == "user.created"
    assert rows_in(viewer_client.get("/audit/?per_page=500")) == 50


def test_it_refuses_filter_values_it_does_not_know_with_the_errors(viewer_client):
    response = viewer_client.get("/audit/?action=bogus&since=yesterday&page=abc")

    content = response.content.decode()
    assert response.status_code == 400
    assert "Action: Select a valid choice. bogus is not one of the available choices." in content
    assert "From: Enter a valid date." in content
    assert rows_in(response) == 0


def test_it_shows_page_one_for_a_page_that_is_not_a_number(viewer_client):
    response = viewer_client.get("/audit/?page=abc")

    assert response.status_code == 200
    assert rows_in(response) == 50


def test_it_renders_only_the_table_for_htmx(viewer_client):
    response = viewer_client.get("/audit/?action=phase.created", headers={"HX-Request": "true"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<div id="audit-table"')
    assert rows_in(response) == 4
    assert 'id="audit-sort" value="-created_at" hx-swap-oob="true"' in content


def test_it_renders_the_same_result_in_a_full_page_without_htmx(viewer_client):
    response = viewer_client.get("/audit/?action=phase.created")

    content = response.content.decode()
    assert "<html" in content
    assert 'id="audit-filters"' in content
    assert (
        '<div id="audit-table" class="table-region" hx-boost="true" '
        'hx-target="#audit-table" hx-swap="outerHTML" hx-push-url="true">'
    ) in content
    assert rows_in(response) == 4


@pytest.mark.parametrize(
    "url",
    [
        "/audit/",
        "/audit/?action=finding.created&actor=system&finding=SI&since=2020-01-01&page=2",
        "/audit/?sort=actor_username&until=2999-12-31",
    ],
)
@pytest.mark.parametrize("extra_events", [0, 300])
def test_it_runs_a_fixed_number_of_queries_however_many_events_exist(
    viewer_client, django_assert_num_queries, url, extra_events
):
    add_generated_events(extra_events)

    with django_assert_num_queries(FULL_PAGE_QUERIES):
        response = viewer_client.get(url)

    assert response.status_code == 200
    assert rows_in(response) > 0


def test_it_names_actions_for_people_with_each_changed_field(viewer_client, tick):
    content = viewer_client.get("/audit/").content.decode()

    first_row = content[content.index("<tbody") : content.index("</tr>", content.index("<tbody"))]
    assert (
        '<span class="audit-action" data-action="checklist_item.ticked" '
        'title="checklist_item.ticked">ticked</span>'
    ) in first_row
    assert (
        '<li><span class="field-name">checked</span>: <span class="before">no</span> → '
        '<span class="after">yes</span></li>'
    ) in first_row
    # The version counter moves with every write; it is no news to a reader.
    assert "version" not in first_row
    assert f'<small class="request-id">{REQUEST_ID}</small>' in first_row


def test_it_says_where_a_status_move_went(viewer_client):
    append_event(
        action="finding.status_changed",
        object_type="finding",
        object_id="1",
        object_repr="SI-001: Moved",
        before={"status": "in_review", "version": 4},
        after={"status": "done", "version": 5},
        permission="findings.change_finding_status",
    )

    content = viewer_client.get("/audit/?action=finding.status_changed").content.decode()

    assert ">moved from in review to done</span>" in content
    assert 'class="field-changes"' not in content


def test_it_names_an_automatic_revocation_and_shows_what_it_recorded(viewer_client):
    append_event(
        action="phase.signoff_auto_revoked",
        object_type="signoff",
        object_id="1",
        object_repr="Signoff of 2A",
        before={"phase": "2A", "fingerprint": "abc"},
        after={"reason": "The approved content changed."},
        permission="system:approved content changed",
    )

    content = viewer_client.get("/audit/?action=phase.signoff_auto_revoked").content.decode()

    assert ">signoff revoked automatically</span>" in content
    assert (
        '<span class="field-name">reason</span>: <span class="before">—</span> → '
        '<span class="after">The approved content changed.</span>'
    ) in content
    assert '<span class="field-name">phase</span>: <span class="before">2A</span>' in content


def test_it_names_every_action_the_services_record():
    source = "\n".join(path.read_text() for path in Path("findings").rglob("*.py"))
    written = set(
        re.findall(
            r'"((?:auth|checklist_item|dependency|document|finding|phase|user)\.[a-z_]+)"', source
        )
    )
    # Built from a model's or relation's name rather than written out.
    built = {
        f"{model}.{verb}"
        for model in ("phase", "tacticaldocument")
        for verb in ("created", "updated", "deleted")
    } | {"user.groups_changed", "user.permissions_changed"}
    written -= {"phase.id"}

    assert written | built <= set(ACTION_NAMES)
