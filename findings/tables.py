"""The django-tables2 tables of the findings list and the audit log."""

import django_tables2 as tables
from django.core.paginator import Paginator
from django.db.models import Case, F, FloatField, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast, NullIf
from django.utils import timezone
from django.utils.html import format_html

from findings.models import AuditEvent, Finding, Priority, Status

PRIORITY_RANK = Case(
    *(When(priority=priority, then=Value(rank)) for rank, priority in enumerate(Priority.values)),
    output_field=IntegerField(),
)
STATUS_RANK = Case(
    *(When(status=status, then=Value(rank)) for rank, status in enumerate(Status.values)),
    output_field=IntegerField(),
)
NOWRAP = {"td": {"class": "nowrap"}}
TICKED_SHARE = Cast("checklist_ticked", FloatField()) / NullIf("checklist_total", 0)


def _aria_sort(bound_column) -> str | None:
    if not bound_column.is_ordered:
        return None
    return "descending" if bound_column.order_by_alias.is_descending else "ascending"


def _ordered(queryset: QuerySet, expression, is_descending: bool, *tie_breakers: str):
    """Order by `expression` with missing values last either way, then by the tie-breakers.

    SQLite and PostgreSQL put NULLs at opposite ends by default; the tie-breakers keep pages
    stable when many rows share a value.
    """
    expression = F(expression) if isinstance(expression, str) else expression
    direction = expression.desc if is_descending else expression.asc
    return queryset.order_by(direction(nulls_last=True), *tie_breakers), True


class FixedPageSizeTable(tables.Table):
    """A table whose pages hold Meta.per_page rows, whatever `?per_page=` asks for.

    django-tables2 reads the page size from the query string by default, which would let one
    request load every row at once (or crash the paginator with a negative size).
    """

    def paginate(self, paginator_class=Paginator, per_page=None, page=1, *args, **kwargs):
        return super().paginate(paginator_class, self._meta.per_page, page, *args, **kwargs)


class FindingTable(FixedPageSizeTable):
    code = tables.Column(linkify=True, attrs={"a": {"hx-boost": "false"}})
    title = tables.Column()
    phase = tables.Column(attrs=NOWRAP)
    priority = tables.Column()
    status = tables.Column()
    owner = tables.Column(accessor="owner__username", verbose_name="Owner")
    checklist = tables.Column(accessor="checklist_ticked", verbose_name="Checklist")
    effort = tables.Column(
        accessor="effort_min_days", verbose_name="Effort", empty_values=(), attrs=NOWRAP
    )

    class Meta:
        model = Finding
        fields = ("code", "title", "phase", "priority", "status", "owner", "checklist", "effort")
        order_by = "code"
        per_page = 25
        default = "—"
        empty_text = "No findings match these filters."
        attrs = {"class": "data-table", "th": {"aria-sort": _aria_sort}}

    def __init__(self, *args, lock_reasons: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lock_reasons = lock_reasons

    def render_phase(self, value):
        return format_html('<span class="code">{}</span> {}', value.code, value.name)

    def render_priority(self, record: Finding):
        if not record.priority_unconfirmed:
            return record.get_priority_display()
        return format_html(
            '{} <span class="badge badge-unconfirmed">unconfirmed</span>',
            record.get_priority_display(),
        )

    def render_status(self, record: Finding):
        pill = format_html(
            '<span class="status status-{}">{}</span>', record.status, record.get_status_display()
        )
        reason = self.lock_reasons.get(record.phase_id)
        if not reason:
            return pill
        return format_html(
            '{} <span class="badge badge-locked">locked</span>'
            ' <small class="lock-reason">{}</small>',
            pill,
            reason,
        )

    def render_checklist(self, record: Finding):
        if not record.checklist_total:
            return "—"
        return format_html(
            '<span class="checklist-progress">'
            '<progress value="{}" max="{}"></progress> {}/{}</span>',
            record.checklist_ticked,
            record.checklist_total,
            record.checklist_ticked,
            record.checklist_total,
        )

    def render_effort(self, record: Finding):
        low, high = record.effort_min_days, record.effort_max_days
        if low is None:
            return format_html('<span class="muted">{}</span>', "not estimated")
        if low == high:
            return f"{low} day" if low == 1 else f"{low} days"
        return f"{low}–{high} days"

    def order_title(self, queryset, is_descending):
        return _ordered(queryset, "title", is_descending, "code")

    def order_phase(self, queryset, is_descending):
        return _ordered(queryset, "phase__order", is_descending, "code")

    def order_priority(self, queryset, is_descending):
        return _ordered(queryset, PRIORITY_RANK, is_descending, "code")

    def order_status(self, queryset, is_descending):
        return _ordered(queryset, STATUS_RANK, is_descending, "code")

    def order_owner(self, queryset, is_descending):
        return _ordered(queryset, "owner__username", is_descending, "code")

    def order_checklist(self, queryset, is_descending):
        return _ordered(queryset, TICKED_SHARE, is_descending, "-checklist_ticked", "code")

    def order_effort(self, queryset, is_descending):
        return _ordered(queryset, "effort_min_days", is_descending, "effort_max_days", "code")


class AuditEventTable(FixedPageSizeTable):
    created_at = tables.Column(verbose_name="Time")
    actor_username = tables.Column(verbose_name="Actor", default="system")
    action = tables.Column()
    object_repr = tables.Column(verbose_name="Object", orderable=False)
    permission = tables.Column(orderable=False, attrs=NOWRAP)
    request_id = tables.Column(verbose_name="Request id", orderable=False)

    class Meta:
        model = AuditEvent
        fields = (
            "created_at",
            "actor_username",
            "action",
            "object_repr",
            "permission",
            "request_id",
        )
        order_by = "-created_at"
        per_page = 50
        default = "—"
        empty_text = "No audit events match these filters."
        attrs = {"class": "data-table", "th": {"aria-sort": _aria_sort}}

    def render_created_at(self, value):
        local = timezone.localtime(value)
        return format_html(
            '<time datetime="{}">{}</time>', local.isoformat(), local.strftime("%Y-%m-%d %H:%M:%S")
        )

    def render_action(self, value):
        return format_html('<span class="code">{}</span>', value)

    def render_object_repr(self, record: AuditEvent, value):
        # The finding link has no database constraint, so the finding may be gone.
        if record.finding is None:
            return value
        return format_html(
            '<a href="{}" hx-boost="false">{}</a>', record.finding.get_absolute_url(), value
        )

    def render_request_id(self, value):
        return format_html('<span class="request-id">{}</span>', value)

    def order_created_at(self, queryset, is_descending):
        return _ordered(queryset, "created_at", is_descending, "-id" if is_descending else "id")

    def order_actor_username(self, queryset, is_descending):
        return _ordered(queryset, "actor_username", is_descending, "-created_at", "-id")

    def order_action(self, queryset, is_descending):
        return _ordered(queryset, "action", is_descending, "-created_at", "-id")
