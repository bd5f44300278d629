"""The burndown on the dashboard and the phase page: ticks and done findings over time."""

import re
from datetime import timedelta

import pytest
from django.db.models import QuerySet
from django.utils import timezone

from findings.burndown import STATUS_CHANGED, TICKED, UNTICKED, burndowns
from findings.models import AuditEvent, ChecklistItem, Finding, Phase, PhaseProgress, Status
from findings.selectors import phase_cards
from tests.phase_work import finish, item_of, move, tick

pytestmark = pytest.mark.django_db


def burndown_section(response) -> str:
    content = response.content.decode()
    match = re.search(r'<section class="card burndown".*?</section>', content, re.S)
    assert match, "no burndown on the page"
    return match.group(0)


def table_rows(section: str) -> list[tuple[str, str, str]]:
    return re.findall(
        r'<tr><th scope="row"><time datetime="([\d-]+)">[\d-]+</time></th><td>(\d+ of \d+)</td>'
        r"<td>(\d+ of \d+)</td></tr>",
        section,
    )


def today() -> str:
    return f"{timezone.localdate():%Y-%m-%d}"


def yesterday() -> str:
    return f"{timezone.localdate() - timedelta(days=1):%Y-%m-%d}"


def progress(code: str) -> PhaseProgress:
    return PhaseProgress.objects.get(phase__code=code)


def test_it_says_when_nothing_is_recorded_yet(viewer_client):
    section = burndown_section(viewer_client.get("/"))

    assert "No tick or status change is recorded yet." in section
    assert "<svg" not in section


def tick_in_locked_phase(code: str) -> None:
    """Tick a finding's first item of a phase still locked by 2A, as its event records it."""
    ChecklistItem.objects.filter(finding__code=code, position=1).update(
        checked=True, checked_at=timezone.now()
    )
    add_events([(TICKED, Finding.objects.get(code=code), timezone.now(), None, None)])


def test_it_draws_the_plans_ticks_and_done_findings_on_the_dashboard(viewer_client, reviewer):
    finish("SI-001", reviewer)
    tick_in_locked_phase("BL-005")

    section = burndown_section(viewer_client.get("/"))

    items = sum(PhaseProgress.objects.values_list("items_total", flat=True))
    findings = sum(PhaseProgress.objects.values_list("findings_total", flat=True))
    ticked = ChecklistItem.objects.filter(finding__code="SI-001").count() + 1
    assert "Progress of the plan" in section
    assert table_rows(section) == [
        (yesterday(), f"0 of {items}", f"0 of {findings}"),
        (today(), f"{ticked} of {items}", f"1 of {findings}"),
    ]


def test_it_draws_only_the_phases_own_changes_on_its_page(viewer_client, reviewer):
    finish("SI-001", reviewer)
    tick_in_locked_phase("BL-005")

    section = burndown_section(viewer_client.get("/phases/2B/"))

    items = progress("2B").items_total
    findings = progress("2B").findings_total
    assert "Progress of phase 2B" in section
    assert table_rows(section) == [
        (yesterday(), f"0 of {items}", f"0 of {findings}"),
        (today(), f"1 of {items}", f"0 of {findings}"),
    ]


def test_it_counts_unticks_and_moves_out_of_done_back(viewer_client, reviewer):
    finish("SI-001", reviewer)
    move("SI-001", Status.IN_REVIEW, reviewer)
    tick(item_of("SI-002", 1), reviewer)
    tick(item_of("SI-002", 1), reviewer, checked=False)

    rows = table_rows(burndown_section(viewer_client.get("/phases/2A/")))

    ticked = ChecklistItem.objects.filter(finding__code="SI-001").count()
    items, findings = progress("2A").items_total, progress("2A").findings_total
    assert rows[-1][1:] == (f"{ticked} of {items}", f"0 of {findings}")
    assert rows[0][1:] == (f"0 of {items}", f"0 of {findings}")


def test_it_ends_at_todays_counters_and_walks_back_by_day(catalogue):
    """Events days apart draw a step a day; the line ends where the counters stand."""
    si_001 = Finding.objects.get(code="SI-001")
    ChecklistItem.objects.filter(finding=si_001, position__lte=3).update(
        checked=True, checked_at=timezone.now()
    )
    now = timezone.now()
    done, in_review = {"status": Status.DONE}, {"status": Status.IN_REVIEW}
    add_events(
        [(TICKED, si_001, now - timedelta(days=3), None, None)] * 2
        + [(STATUS_CHANGED, si_001, now - timedelta(days=2), in_review, done)]
        + [(TICKED, si_001, now - timedelta(days=1), None, None)]
        + [(STATUS_CHANGED, si_001, now - timedelta(days=1), done, in_review)]
    )

    burndown = burndowns(phase_cards())[Phase.objects.get(code="2A").pk]

    days = [now.date() - timedelta(days=n) for n in (4, 3, 2, 1)]
    assert [(p.day, p.items_ticked, p.findings_done) for p in burndown.points] == [
        (days[0], 0, 0),
        (days[1], 2, 0),
        (days[2], 2, 1),
        (days[3], 3, 0),
    ]


def test_it_draws_axes_labels_and_a_text_alternative(viewer_client, reviewer):
    tick(item_of("SI-001", 1), reviewer)

    section = burndown_section(viewer_client.get("/"))

    assert 'role="img"' in section
    assert '<title id="burndown-svg-title">Progress of the plan' in section
    assert 'aria-labelledby="burndown-svg-title burndown-summary"' in section
    for label in ("0%", "50%", "100%", yesterday(), today()):
        assert f">{label}</text>" in section
    assert "Items ticked (share of" in section
    assert section.count("<polyline") == 2
    assert re.search(r'<p class="muted" id="burndown-summary">From [\d-]+ to [\d-]+', section)


def add_events(events) -> None:
    """Insert audit events in one statement, outside the hash chain: these tests read figures."""
    QuerySet(model=AuditEvent).bulk_create(
        AuditEvent(
            sequence=-(n + 1),
            previous_hash="",
            hash="",
            created_at=created_at,
            action=action,
            object_type="test",
            object_id=str(finding.pk),
            object_repr=finding.code,
            finding=finding,
            before=before,
            after=after,
            permission="test",
        )
        for n, (action, finding, created_at, before, after) in enumerate(events)
    )


@pytest.mark.parametrize("findings, events", [(0, 0), (9_970, 100_000)], ids=["30", "10000"])
def test_it_reads_the_burndown_in_one_query(catalogue, findings, events, django_assert_num_queries):
    add_findings(findings)
    targets = list(Finding.objects.exclude(status=Status.COMPLETED)[:500])
    start = timezone.now() - timedelta(days=400)
    actions = [TICKED, TICKED, UNTICKED, STATUS_CHANGED]
    add_events(
        (
            actions[n % 4],
            targets[n % len(targets)],
            start + timedelta(minutes=5 * n),
            {"status": Status.DONE} if n % 8 == 7 else None,
            {"status": Status.DONE} if n % 8 == 3 else None,
        )
        for n in range(events)
    )
    cards = phase_cards()

    with django_assert_num_queries(1):
        figures = burndowns(cards)

    plan = figures[None]
    assert Finding.objects.count() == 30 + findings
    assert (
        plan.points[-1].items_ticked == sum(card.items_ticked for card in cards)
        if events
        else (plan.points == [])
    )
    assert len(plan.points) == (
        len({event_day(start, n) for n in range(events)}) + 1 if events else 0
    )


def add_findings(count: int) -> None:
    """`count` findings spread over the phases, in one statement. Six-character codes outside
    the SI/BF/BL pattern, which holds only 3,000, are what the column takes beyond it."""
    phases = list(Phase.objects.order_by("order"))
    Finding.objects.bulk_create(
        Finding(
            code=f"G{n:05d}",
            title=f"Generated finding {n}",
            phase=phases[n % len(phases)],
            status=[Status.PLANNED, Status.IN_PROGRESS, Status.DONE][n % 3],
        )
        for n in range(count)
    )


def event_day(start, n):
    return (start + timedelta(minutes=5 * n)).date()
