"""How many SQL queries each page and each change costs, with the 30 seeded findings and 330.

A count that grows with the number of findings is a query per row somewhere; pinning the same
number at both sizes catches it, and pinning the exact number catches any new query.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from findings.models import (
    ChecklistItem,
    Dependency,
    Finding,
    Phase,
    Priority,
    Status,
)
from findings.seed import STANDARD_CHECKLIST
from findings.services.audit import ActionContext, audit_record
from findings.services.checklist import checklist_item_set
from findings.services.status import finding_status_set

# What rendering reads: a page answered from the cache reads less (tests/views/test_page_cache.py).
pytestmark = pytest.mark.usefixtures("page_cache_off")

HTMX = {"HX-Request": "true"}
GENERATED = 300
STATUSES = [Status.PLANNED, Status.PLANNED, Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE]

# Every request reads the session and the user, and its first permission check reads the user's
# permissions, their own and their groups' in one: 3 queries before the view's own.
# The dashboard: phases with their signoff state, progress counts and next findings' ids, the
# active signoffs, the next findings, the completed findings and the burndown (one grouped read of
# the audit log).
# A finding page: the finding, its items, the phase card (2), its dependencies (which the status
# moves' blockers reuse), its dependants, the history, and its graph (phases, finding, links: 3).
# A tick: the phase's lock (with its lock reason), the item (with whether a signoff stands), the
# audit chain's head lock, which every change takes before it writes, the write with its audit
# event (savepoints, the head again, the insert and the head's update), then the fragments' reads:
# the finding's items, the phase's progress, the dependencies and the history. The signoff
# revalidation runs only when a signoff stands; every change ends with one read of its gated
# unsigned phases' progress, to tell their signers when one becomes ready to sign
# (phases_ready_announce).
# A status move: the same, with the finding read before the lock and the signoff revalidation.
# A phase page for a signoff lead: the phases with their progress, the active signoff, the phase's
# findings with their item counts (which its readiness reuses), its outside dependencies and
# unticked items, its content for the fingerprint (3), who may sign it (the signoff lead role's
# holders and what bars any of them, 3), its documents and its signoff history, its burndown (1)
# and its graph (3).
# A refusal draws only the fragment it swaps, from what the service read when it refused. A tick
# refused by the view: the item, and its phase's lock when the box could be enabled (bad input). A
# tick the service refuses adds nothing to the service's reads (its phase's lock, the item and the
# chain head's lock in a savepoint, and the last change's audit event for a stale version). A
# status move: the finding, then the phase's lock when the view refuses, or else the service's
# reads, then the dependencies for the blockers of the moves the panel offers (none when locked).
QUERIES = {
    "sqlite": {"dashboard": 8, "finding": 13, "tick": 17, "status": 21, "phase": 20},
    "postgresql": {"dashboard": 8, "finding": 13, "tick": 17, "status": 21, "phase": 20},
}
REFUSALS = {
    vendor: {
        "tick-403": 4,
        "tick-400": 5,
        "tick-409": 10,
        "tick-423": 9,
        "status-403": 5,
        "status-400": 6,
        "status-409": 12,
        "status-423": 11,
        "status-422": 12,
    }
    for vendor in ("sqlite", "postgresql")
}


def expected(name: str) -> int:
    return QUERIES[connection.vendor][name]


def add_generated_findings(count: int) -> None:
    """Add `count` findings in a few queries, varied so that every aggregate has rows to count.

    Every tenth was completed before the plan; the others spread over the four phases with varied
    statuses, estimates, owners and ticked items. A third depend on SI-001, which gets that many
    dependants, and most depend on the finding before them, across phases. SI-001 gets a long
    history.
    """
    phases = list(Phase.objects.order_by("order"))
    owners = [get_user_model().objects.create_user(f"owner{n}") for n in range(5)]
    si_001 = Finding.objects.get(code="SI-001")
    findings = Finding.objects.bulk_create(
        Finding(
            code=f"SI-{100 + n}",
            title=f"Generated finding {n}",
            phase=None if n % 10 == 9 else phases[n % len(phases)],
            priority=Priority.HIGH,
            status=Status.COMPLETED if n % 10 == 9 else STATUSES[n % len(STATUSES)],
            effort_min_days=1 + n % 3 if n % 4 else None,
            effort_max_days=3 + n % 3 if n % 4 else None,
            owner=owners[n % len(owners)] if n % 2 else None,
        )
        for n in range(count)
    )
    now = timezone.now()
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            finding=generated,
            section=section,
            text=text,
            key=f"item-{position}",
            position=position,
            checked=position <= n % 14,
            checked_at=now if position <= n % 14 else None,
        )
        for n, generated in enumerate(findings)
        if generated.status != Status.COMPLETED
        for position, (section, text) in enumerate(STANDARD_CHECKLIST, start=1)
    )
    Dependency.objects.bulk_create(
        [Dependency(finding=generated, depends_on=si_001) for generated in findings[::3]]
        + [
            Dependency(finding=generated, depends_on=previous)
            for previous, generated in zip(findings, findings[1:], strict=False)
            if generated.pk % 5
        ]
    )
    # Audit events join a hash chain one by one, so the long history goes through the service.
    context = ActionContext.system("test")
    for n in range(count // 3):
        audit_record(
            context=context,
            action="finding.updated",
            obj=si_001,
            permission=f"system:{context.source}",
            after={"n": n},
            finding=si_001,
        )


@pytest.fixture(params=[0, GENERATED], ids=["30-findings", "330-findings"])
def generated(request, catalogue) -> int:
    add_generated_findings(request.param)
    return request.param


@pytest.fixture
def reviewer_client(client, reviewer, generated):
    client.force_login(reviewer)
    return client


def test_it_renders_the_dashboard_in_a_fixed_number_of_queries(
    reviewer_client, generated, django_assert_num_queries
):
    with django_assert_num_queries(expected("dashboard")):
        response = reviewer_client.get("/")

    content = response.content.decode()
    phase_2a = Finding.objects.filter(phase__code="2A")
    done_2a = phase_2a.filter(status=Status.DONE).count()
    completed = Finding.objects.filter(status=Status.COMPLETED).count()
    assert response.status_code == 200
    assert f"Findings: {done_2a} of {phase_2a.count()} done" in content
    assert content[content.index('id="completed"') :].count('<li><a class="code"') == completed
    assert completed == 7 + generated // 10


def test_it_renders_a_finding_in_a_fixed_number_of_queries(
    reviewer_client, generated, django_assert_num_queries
):
    with django_assert_num_queries(expected("finding")):
        response = reviewer_client.get("/findings/SI-001/")

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('<span class="status status-') >= 1 + generated // 3
    assert "Move to in progress</button>" in content


def test_it_ticks_an_item_in_a_fixed_number_of_queries(
    reviewer_client, generated, django_assert_num_queries
):
    item = ChecklistItem.objects.get(finding__code="SI-001", position=1)

    with django_assert_num_queries(expected("tick")):
        response = reviewer_client.post(
            f"/checklist/{item.pk}/", {"checked": "true", "version": "1"}, headers=HTMX
        )

    assert response.status_code == 200
    assert 'id="finding-progress"' in response.content.decode()
    item.refresh_from_db()
    assert item.checked


def test_it_moves_a_finding_in_a_fixed_number_of_queries(
    reviewer_client, generated, django_assert_num_queries
):
    with django_assert_num_queries(expected("status")):
        response = reviewer_client.post(
            "/findings/SI-001/status/", {"target": "in_progress", "version": "1"}, headers=HTMX
        )

    assert response.status_code == 200
    assert Finding.objects.get(code="SI-001").status == Status.IN_PROGRESS


def test_it_renders_a_phase_to_a_signoff_lead_in_a_fixed_number_of_queries(
    client, lead, generated, django_assert_num_queries
):
    client.force_login(lead)

    with django_assert_num_queries(expected("phase")):
        response = client.get("/phases/2A/")

    content = response.content.decode()
    assert response.status_code == 200
    assert (
        content.count('<a class="code" href="/findings/')
        >= Finding.objects.filter(phase__code="2A").count()
    )


def item_url(code: str) -> str:
    return f"/checklist/{ChecklistItem.objects.get(finding__code=code, position=1).pk}/"


def change_first(code: str) -> None:
    """Someone else ticks the finding's first item and starts the finding after the page loaded."""
    context = ActionContext.system("test")
    item = ChecklistItem.objects.get(finding__code=code, position=1)
    checklist_item_set(item_id=item.pk, checked=True, expected_version=1, context=context)
    finding = Finding.objects.get(code=code)
    finding_status_set(
        finding_id=finding.pk, target=Status.IN_PROGRESS, expected_version=1, context=context
    )


@pytest.mark.parametrize(
    "refusal, persona, code, data, fragment",
    [
        ("tick-403", "viewer", "SI-001", {"checked": "true", "version": "1"}, "item-"),
        ("tick-400", "reviewer", "SI-001", {"checked": "maybe", "version": "1"}, "item-"),
        ("tick-409", "reviewer", "SI-001", {"checked": "false", "version": "1"}, "item-"),
        ("tick-423", "reviewer", "BL-005", {"checked": "true", "version": "1"}, "item-"),
        ("status-403", "viewer", "SI-001", {"target": "in_progress", "version": "1"}, "status"),
        ("status-400", "reviewer", "SI-001", {"target": "shipped", "version": "1"}, "status"),
        ("status-409", "reviewer", "SI-001", {"target": "planned", "version": "1"}, "status"),
        ("status-423", "reviewer", "BL-005", {"target": "in_progress", "version": "1"}, "status"),
        ("status-422", "reviewer", "SI-001", {"target": "done", "version": "1"}, "status"),
    ],
)
def test_it_draws_a_refused_change_in_a_fixed_number_of_queries(
    client, generated, django_assert_num_queries, request, refusal, persona, code, data, fragment
):
    client.force_login(request.getfixturevalue(persona))
    if refusal.endswith("409"):
        change_first(code)
    url = item_url(code) if refusal.startswith("tick") else f"/findings/{code}/status/"
    status = int(refusal[-3:])

    with django_assert_num_queries(REFUSALS[connection.vendor][refusal]):
        response = client.post(url, data, headers=HTMX)

    content = response.content.decode()
    assert response.status_code == status
    assert content.lstrip().startswith(
        f'<{"form" if fragment == "item-" else "section"} id="{fragment}'
    )
    assert 'role="alert"' in content
