"""Progress over time, per phase and for the whole plan, read from the audit log.

One grouped query sums, per day and phase, the ticks minus the unticks and the moves into done
minus the moves out of it; however long the history, it returns one row per day and phase. The
figures are anchored at today's counts and walked backwards, so the line always ends where the
progress counters stand, even where a change left no such event (a seeded tick, a deleted item).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Case, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncDate

from findings.models import AuditEvent, Status
from findings.selectors import PhaseCard

# The actions checklist_item_set and finding_status_set record.
TICKED = "checklist_item.ticked"
UNTICKED = "checklist_item.unticked"
STATUS_CHANGED = "finding.status_changed"

WIDTH = 560
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 52
# The table beside the picture lists at most this many days, evenly spread, first and last kept.
TABLE_ROWS = 12


@dataclass(frozen=True)
class BurndownPoint:
    day: date
    items_ticked: int
    findings_done: int


@dataclass
class Burndown:
    """One series of days: items ticked and findings done at the end of each."""

    title: str
    items_total: int
    findings_total: int
    points: list[BurndownPoint] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if not self.points:
            return "No tick or status change is recorded yet."
        first, last = self.points[0], self.points[-1]
        return (
            f"From {first.day:%Y-%m-%d} to {last.day:%Y-%m-%d}, items ticked went from "
            f"{first.items_ticked} to {last.items_ticked} of {self.items_total} and findings "
            f"done from {first.findings_done} to {last.findings_done} of {self.findings_total}."
        )

    @property
    def table(self) -> list[BurndownPoint]:
        if len(self.points) <= TABLE_ROWS:
            return self.points
        step = (len(self.points) - 1) / (TABLE_ROWS - 1)
        return [self.points[round(n * step)] for n in range(TABLE_ROWS)]

    @property
    def is_sampled(self) -> bool:
        return len(self.points) > TABLE_ROWS

    def chart(self) -> "BurndownChart":
        return BurndownChart(self)


@dataclass(frozen=True)
class ChartLabel:
    x: float
    y: float
    text: str


class BurndownChart:
    """The burndown placed in an SVG of WIDTH × HEIGHT: shares of the totals against the date."""

    width, height = WIDTH, HEIGHT
    left, top = LEFT, TOP
    right_edge = WIDTH - RIGHT
    bottom_edge = HEIGHT - BOTTOM

    def __init__(self, burndown: Burndown):
        self.burndown = burndown
        # Drawn only for a burndown with points: the day before the first change and after.
        points = burndown.points
        self._start = points[0].day
        self._days = max((points[-1].day - self._start).days, 1)

    def _x(self, day: date) -> float:
        span = self.right_edge - self.left
        return round(self.left + span * (day - self._start).days / self._days, 1)

    def _y(self, share: float) -> float:
        return round(self.bottom_edge - (self.bottom_edge - self.top) * share, 1)

    def _line(self, value, total: int) -> str:
        coordinates = [
            f"{self._x(point.day)},{self._y(value(point) / total if total else 0)}"
            for point in self.burndown.points
        ]
        return " ".join(coordinates)

    @property
    def items_line(self) -> str:
        return self._line(lambda point: point.items_ticked, self.burndown.items_total)

    @property
    def findings_line(self) -> str:
        return self._line(lambda point: point.findings_done, self.burndown.findings_total)

    @property
    def y_labels(self) -> list[ChartLabel]:
        return [ChartLabel(self.left - 6, self._y(share), f"{share:.0%}") for share in (0, 0.5, 1)]

    @property
    def x_labels(self) -> list[ChartLabel]:
        points = self.burndown.points
        days = sorted({points[0].day, points[-1].day})
        return [ChartLabel(self._x(day), self.bottom_edge + 16, f"{day:%Y-%m-%d}") for day in days]

    @property
    def legend_y(self) -> int:
        return self.height - 12


def burndowns(cards: list[PhaseCard]) -> dict[int | None, Burndown]:
    """The burndown of each card's phase, keyed by its id, and of the whole plan under None.

    The cards give today's counts, from which the history is walked back. One query.
    """
    changes = _daily_changes()
    series = {
        card.phase.pk: Burndown(
            f"Progress of phase {card.phase.code}", card.items_total, card.findings_total
        )
        for card in cards
    }
    days = sorted({day for day, phase_id, _, _ in changes if phase_id in series})
    for card in cards:
        deltas = {
            day: (items, findings)
            for day, phase_id, items, findings in changes
            if phase_id == card.phase.pk
        }
        series[card.phase.pk].points = _walk_back(
            days, deltas, card.items_ticked, card.findings_done
        )
    plan = Burndown(
        "Progress of the plan",
        sum(card.items_total for card in cards),
        sum(card.findings_total for card in cards),
    )
    plan.points = [
        BurndownPoint(
            same_day[0].day,
            sum(point.items_ticked for point in same_day),
            sum(point.findings_done for point in same_day),
        )
        for same_day in zip(*(burndown.points for burndown in series.values()), strict=True)
    ]
    return {**series, None: plan}


def _walk_back(
    days: list[date], deltas: dict[date, tuple[int, int]], ticked: int, done: int
) -> list[BurndownPoint]:
    """Each day's closing figures, from today's counts less the changes made after that day.

    The day before the first change opens the series, so the first change draws a step.
    """
    points = []
    for day in reversed(days):
        points.append(BurndownPoint(day, max(ticked, 0), max(done, 0)))
        items, findings = deltas.get(day, (0, 0))
        ticked, done = ticked - items, done - findings
    if days:
        points.append(BurndownPoint(days[0] - timedelta(days=1), max(ticked, 0), max(done, 0)))
    points.reverse()
    return points


def _daily_changes() -> list[tuple[date, int, int, int]]:
    """(day, phase id, net items ticked, net findings done) per day and phase, in one query."""
    to_done = Q(action=STATUS_CHANGED, after__status=Status.DONE)
    from_done = Q(action=STATUS_CHANGED, before__status=Status.DONE)
    rows = (
        AuditEvent.objects.filter(
            action__in=[TICKED, UNTICKED, STATUS_CHANGED], finding__phase__isnull=False
        )
        .annotate(day=TruncDate("created_at"))
        .values("day", "finding__phase_id")
        .annotate(
            items=Sum(
                Case(
                    When(action=TICKED, then=Value(1)),
                    When(action=UNTICKED, then=Value(-1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            ),
            findings=Sum(
                Case(
                    When(to_done, then=Value(1)),
                    When(from_done, then=Value(-1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            ),
        )
        .order_by("day", "finding__phase_id")
        .values_list("day", "finding__phase_id", "items", "findings")
    )
    return list(rows)
