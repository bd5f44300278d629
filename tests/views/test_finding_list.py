"""The findings table at /findings/: access, filters, sorting, paging, HTMX and query count."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from findings.models import (
    ChecklistItem,
    Dependency,
    Finding,
    Phase,
    Priority,
    Signoff,
    Status,
)
from findings.services.dependencies import dependency_add
from tests.views.finding_table import codes_in

# Session, user, the user's permissions (own and groups' in one), phase locks, phase and owner
# choices, the row count and the rows.
FULL_PAGE_QUERIES = 8
SEVEN_COMPLETED = ["BF-001", "BF-003", "BF-004", "BF-005", "BL-002", "BL-008", "SI-003"]


def planned_codes() -> list[str]:
    return list(Finding.objects.filter(status=Status.PLANNED).values_list("code", flat=True))


def add_generated_findings(count: int) -> None:
    """Add `count` findings with owners, checklists and dependencies, in a few queries."""
    phases = list(Phase.objects.order_by("order"))
    owners = [get_user_model().objects.create_user(f"owner{n}") for n in range(5)]
    findings = Finding.objects.bulk_create(
        Finding(
            code=f"SI-{100 + n}",
            title=f"Generated finding {n}",
            phase=phases[n % len(phases)],
            priority=Priority.HIGH,
            priority_unconfirmed=n % 2 == 0,
            owner=owners[n % len(owners)],
            effort_min_days=1 + n % 3,
            effort_max_days=3 + n % 3,
        )
        for n in range(count)
    )
    now = timezone.now()
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            finding=finding,
            section="mandatory",
            text=f"Check {position}",
            key=f"check-{position}",
            position=position,
            checked=position <= n % 5,
            checked_at=now if position <= n % 5 else None,
        )
        for n, finding in enumerate(findings)
        for position in range(1, 6)
    )
    Dependency.objects.bulk_create(
        Dependency(finding=finding, depends_on=findings[0]) for finding in findings[1:100]
    )


def test_it_sends_anonymous_visitors_to_log_in(client, catalogue):
    response = client.get("/findings/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/findings/"


def test_it_refuses_users_without_a_role(client, outsider, catalogue):
    client.force_login(outsider)

    assert client.get("/findings/").status_code == 403


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_shows_every_role_the_findings(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = client.get("/findings/")

    assert response.status_code == 200
    assert "SI-001" in codes_in(response)


def test_it_refuses_post(viewer_client):
    assert viewer_client.post("/findings/").status_code == 405


def test_it_lists_the_first_page_of_findings_by_code(viewer_client):
    response = viewer_client.get("/findings/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" in content
    assert codes_in(response) == list(
        Finding.objects.order_by("code")[:25].values_list("code", flat=True)
    )
    assert "Findings 1–25 of 30" in content


def test_it_shows_phase_priority_status_progress_and_effort(viewer_client, varied):
    content = viewer_client.get("/findings/?q=BL-004").content.decode()

    assert '<span class="code">2C</span> <span class="phase-name">Performance</span>' in content
    assert 'High <span class="badge badge-unconfirmed">unconfirmed</span>' in content
    assert '<span class="status status-planned">Planned</span>' in content
    assert '<progress value="0" max="13"></progress> 0/13' in content
    assert "2–3 days" in content


def test_it_shows_ticked_items_and_missing_estimates(viewer_client, varied):
    content = viewer_client.get("/findings/?q=SI-006").content.decode()

    assert '<progress value="1" max="13"></progress> 1/13' in content
    assert "not estimated" in content
    assert "unconfirmed" in content


def test_it_marks_a_confirmed_priority_without_the_marker(viewer_client):
    content = viewer_client.get("/findings/?q=SI-001").content.decode()

    assert "Critical" in content
    assert "badge-unconfirmed" not in content


def test_it_marks_findings_in_locked_phases_with_the_reason(viewer_client):
    locked = viewer_client.get("/findings/?q=SI-004").content.decode()
    open_ = viewer_client.get("/findings/?q=SI-001").content.decode()

    assert "badge-locked" in locked
    assert "Locked until phase 2A Foundation is signed off." in locked
    assert "badge-locked" not in open_


def test_it_drops_the_lock_once_the_gate_is_signed_off(viewer_client, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"), signed_by=lead, signed_at=timezone.now()
    )

    content = viewer_client.get("/findings/?q=SI-004").content.decode()

    assert "badge-locked" not in content


def test_it_filters_by_phase(viewer_client):
    response = viewer_client.get("/findings/?phase=2A")

    assert codes_in(response) == ["BF-002", "SI-001", "SI-002"]


def test_it_searches_codes_and_titles(viewer_client):
    by_code = viewer_client.get("/findings/?q=BL-01")
    by_title = viewer_client.get("/findings/?q=concurrency")

    assert codes_in(by_code) == ["BL-010", "BL-011", "BL-012", "BL-013", "BL-014"]
    assert codes_in(by_title) == ["BF-002"]


def test_it_filters_by_status(viewer_client):
    assert codes_in(viewer_client.get("/findings/?status=completed")) == SEVEN_COMPLETED


def test_it_filters_by_priority_and_category(viewer_client):
    assert codes_in(viewer_client.get("/findings/?priority=CRITICAL")) == [
        "BF-002",
        "SI-001",
        "SI-002",
    ]
    assert codes_in(viewer_client.get("/findings/?category=SI&status=planned")) == [
        "SI-001",
        "SI-002",
        "SI-004",
        "SI-005",
        "SI-006",
        "SI-007",
    ]


def test_it_filters_by_unconfirmed_priority(viewer_client):
    unconfirmed = set(
        Finding.objects.filter(phase__code__in=["2C", "2D"]).values_list("code", flat=True)
    )

    yes = viewer_client.get("/findings/?priority_unconfirmed=true&page=1")
    yes_page_2 = viewer_client.get("/findings/?priority_unconfirmed=true&page=2")
    no = viewer_client.get("/findings/?priority_unconfirmed=false")

    assert len(unconfirmed) == 17
    assert set(codes_in(yes) + codes_in(yes_page_2)) == unconfirmed
    assert set(codes_in(no)).isdisjoint(unconfirmed)
    assert len(codes_in(no)) == 13


def test_it_filters_by_owner(viewer_client, varied):
    assert codes_in(viewer_client.get("/findings/?owner=amy")) == ["SI-004"]
    assert "SI-004" not in codes_in(viewer_client.get("/findings/?owner=null"))


def test_it_lists_as_ready_to_start_only_the_findings_of_unlocked_phases(viewer_client):
    response = viewer_client.get("/findings/?ready=true")

    # Every planned finding depends only on BF-001 and BL-002, both completed before the plan,
    # but only 2A's findings are outside a phase locked until 2A is signed off.
    assert response.content.decode().count("Findings 1–3 of 3") == 1
    assert codes_in(response) == ["BF-002", "SI-001", "SI-002"]


def test_it_counts_findings_of_locked_phases_as_not_ready_to_start(viewer_client):
    not_ready = codes_in(viewer_client.get("/findings/?ready=false&phase=2B"))

    assert not_ready == list(
        Finding.objects.filter(phase__code="2B").order_by("code").values_list("code", flat=True)
    )


def test_it_lists_the_findings_of_the_next_phase_once_the_gate_is_signed_off(viewer_client, lead):
    Signoff.objects.create(
        phase=Phase.objects.get(code="2A"), signed_by=lead, signed_at=timezone.now()
    )

    ready = codes_in(viewer_client.get("/findings/?ready=true&phase=2B"))

    assert ready == list(
        Finding.objects.filter(phase__code="2B", status=Status.PLANNED)
        .order_by("code")
        .values_list("code", flat=True)
    )
    assert ready


def test_it_says_which_dependency_a_planned_finding_waits_on(viewer_client, system_context):
    dependency_add(
        finding=Finding.objects.get(code="SI-002"),
        depends_on=Finding.objects.get(code="SI-001"),
        context=system_context,
    )

    content = viewer_client.get("/findings/?q=SI-002").content.decode()

    assert '<small class="lock-reason">Waits on SI-001.</small>' in content


def test_it_drops_a_finding_waiting_on_a_planned_dependency_from_ready(
    viewer_client, system_context
):
    dependency_add(
        finding=Finding.objects.get(code="SI-002"),
        depends_on=Finding.objects.get(code="SI-001"),
        context=system_context,
    )

    ready = codes_in(viewer_client.get("/findings/?ready=true"))
    not_ready = codes_in(viewer_client.get("/findings/?ready=false"))

    assert "SI-001" in ready
    assert "SI-002" not in ready
    assert "SI-002" in not_ready
    assert set(SEVEN_COMPLETED) <= set(not_ready)


def test_it_counts_a_done_dependency_as_finished(viewer_client, system_context):
    dependency_add(
        finding=Finding.objects.get(code="SI-002"),
        depends_on=Finding.objects.get(code="SI-001"),
        context=system_context,
    )
    Finding.objects.filter(code="SI-001").update(status=Status.DONE)

    ready = codes_in(viewer_client.get("/findings/?ready=true"))

    assert "SI-002" in ready
    assert "SI-001" not in ready


def test_it_says_so_when_no_finding_matches(viewer_client):
    content = viewer_client.get("/findings/?q=nothing-like-this").content.decode()

    assert '<tr><td colspan="8">No findings match these filters.</td></tr>' in content
    assert 'role="status"' not in content


def test_it_shows_a_dash_for_a_missing_phase_priority_owner_and_checklist(viewer_client):
    content = viewer_client.get("/findings/?q=BF-001").content.decode()
    row = content[content.index("<tbody>") : content.index("</tbody>")]

    assert '<td class="nowrap">—</td>' in row
    assert row.count("<td>—</td>") == 3


def test_it_shows_the_owner_and_a_single_day_in_the_singular(viewer_client, varied):
    Finding.objects.filter(code="SI-004").update(effort_min_days=1, effort_max_days=1)

    content = viewer_client.get("/findings/?q=SI-004").content.decode()

    assert "<td>amy</td>" in content
    assert '<td class="nowrap">1 day</td>' in content


def test_it_keeps_the_chosen_filters_selected_in_the_form(viewer_client):
    content = viewer_client.get("/findings/?phase=2A&ready=true&status=planned").content.decode()

    assert '<select name="phase" id="id_phase">' in content
    assert '<option value="2A" selected>Phase 2A Foundation</option>' in content
    assert '<option value="true" selected>Yes</option>' in content
    assert '<option value="planned" selected>Planned</option>' in content
    assert '<option value="" selected>Any</option>' in content


def test_it_marks_a_filter_it_does_not_understand_as_invalid(viewer_client):
    content = viewer_client.get("/findings/?status=bogus").content.decode()

    assert (
        '<select name="status" aria-describedby="id_status_error" aria-invalid="true" '
        'id="id_status">'
    ) in content


def test_it_refuses_filter_values_it_does_not_know_with_the_errors(viewer_client):
    response = viewer_client.get("/findings/?phase=99&status=bogus&page=abc")

    content = response.content.decode()
    assert response.status_code == 400
    assert "Some filters were not understood" in content
    assert "Phase: Select a valid choice." in content
    assert "Status: Select a valid choice. bogus is not one of the available choices." in content
    assert codes_in(response) == []


def test_it_refuses_an_overlong_search(viewer_client):
    assert viewer_client.get("/findings/?q=" + "x" * 101).status_code == 400


def test_it_ignores_unknown_sort_columns_and_yes_no_values(viewer_client):
    response = viewer_client.get("/findings/?sort=bogus&ready=maybe")

    assert response.status_code == 200
    assert codes_in(response)[0] == "BF-001"


def test_it_renders_only_the_table_for_htmx(viewer_client):
    response = viewer_client.get("/findings/?phase=2A&sort=-code", headers={"HX-Request": "true"})

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert 'id="finding-filters"' not in content
    assert content.lstrip().startswith('<div id="finding-table"')
    assert codes_in(response) == ["SI-002", "SI-001", "BF-002"]
    # The filter form's hidden sort field follows the table's sort out of band.
    assert (
        '<input type="hidden" name="sort" id="finding-sort" value="-code" hx-swap-oob="true">'
        in content
    )


def test_it_renders_the_same_result_in_a_full_page_without_htmx(viewer_client):
    response = viewer_client.get("/findings/?phase=2A&sort=-code")

    content = response.content.decode()
    assert "<html" in content
    assert 'id="finding-table"' in content
    assert 'id="finding-filters"' in content
    assert codes_in(response) == ["SI-002", "SI-001", "BF-002"]
    assert "hx-swap-oob" not in content


def test_it_renders_the_full_page_to_restore_htmx_history(viewer_client):
    response = viewer_client.get(
        "/findings/?phase=2A",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )

    assert "<html" in response.content.decode()


def test_it_shows_filter_errors_in_the_htmx_fragment(viewer_client):
    response = viewer_client.get("/findings/?status=bogus", headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert "Status: Select a valid choice." in response.content.decode()


def test_it_wires_the_form_and_the_table_to_swap_only_the_table(viewer_client):
    content = viewer_client.get("/findings/").content.decode()

    assert (
        '<div id="finding-table" class="table-region" hx-boost="true" '
        'hx-target="#finding-table" hx-swap="outerHTML" hx-push-url="true">'
    ) in content
    assert 'action="/findings/"' in content
    assert 'hx-get="/findings/"' in content
    assert '<button type="submit">Filter</button>' in content
    # Links to a finding's page leave the table and load the whole page.
    assert '<a hx-boost="false" href="/findings/SI-001/">SI-001</a>' in content


@pytest.mark.parametrize(
    "url, queries",
    [
        ("/findings/", FULL_PAGE_QUERIES),
        # Validating the phase code reads the phase; owner=null needs no lookup.
        ("/findings/?phase=2A&ready=true&owner=null&q=S&sort=-checklist", FULL_PAGE_QUERIES + 1),
        ("/findings/?priority_unconfirmed=true&sort=effort&page=2", FULL_PAGE_QUERIES),
    ],
)
@pytest.mark.parametrize("extra_findings", [0, 300])
def test_it_runs_a_fixed_number_of_queries_however_many_findings_exist(
    viewer_client, django_assert_num_queries, url, queries, extra_findings
):
    add_generated_findings(extra_findings)

    with django_assert_num_queries(queries):
        response = viewer_client.get(url)

    assert response.status_code == 200
    assert len(codes_in(response)) > 0


@pytest.mark.parametrize("extra_findings", [0, 300])
def test_it_runs_fewer_fixed_queries_for_the_htmx_fragment(
    viewer_client, django_assert_num_queries, extra_findings
):
    add_generated_findings(extra_findings)

    # The fragment has no filter form, so neither choice list is read.
    with django_assert_num_queries(FULL_PAGE_QUERIES - 2):
        viewer_client.get("/findings/?sort=owner", headers={"HX-Request": "true"})
