"""The django-tables2 tables of the findings list and the audit log.

The tables declare the columns, their sort orders and the page size; their templates draw the
cells from each row's record. django-tables2's own cell rendering inspects the signature of a
render method for every cell and computes every column's attributes again for each cell, which
cost most of the page's time.
"""

import django_tables2 as tables
from django.core.paginator import Paginator
from django.db.models import Case, F, FloatField, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast, NullIf

from findings.forms import ASCII_DIGITS
from findings.models import AuditEvent, Finding, Priority, Status

PRIORITY_RANK = Case(
    *(When(priority=priority, then=Value(rank)) for rank, priority in enumerate(Priority.values)),
    output_field=IntegerField(),
)
STATUS_RANK = Case(
    *(When(status=status, then=Value(rank)) for rank, status in enumerate(Status.values)),
    output_field=IntegerField(),
)
TICKED_SHARE = Cast("checklist_ticked", FloatField()) / NullIf("checklist_total", 0)


def _ordered(queryset: QuerySet, expression, is_descending: bool, *tie_breakers: str):
    """Order by `expression` with missing values last either way, then by the tie-breakers.

    SQLite and PostgreSQL put NULLs at opposite ends by default; the tie-breakers keep pages
    stable when many rows share a value.
    """
    expression = F(expression) if isinstance(expression, str) else expression
    direction = expression.desc if is_descending else expression.asc
    return queryset.order_by(direction(nulls_last=True), *tie_breakers), True


class PagedTable(tables.Table):
    """A table drawn by its own template, whose pages hold Meta.per_page rows.

    django-tables2 reads the page size from the query string by default, which would let one
    request load every row at once (or crash the paginator with a negative size). It reads the
    page number with int(), which also takes other scripts' digits ("٢" is 2), signs and
    underscores; a page number not written in 0-9 is taken as no number, the first page.
    """

    def paginate(self, paginator_class=Paginator, per_page=None, page=1, *args, **kwargs):
        # RequestConfig sets `request` before paginating with the query's page.
        request = getattr(self, "request", None)
        asked = request.GET.get(self.prefixed_page_field, "1") if request else "1"
        if not ASCII_DIGITS.fullmatch(asked.strip()):
            page = 1
        return super().paginate(paginator_class, self._meta.per_page, page, *args, **kwargs)

    def page_records(self) -> list:
        """The records of the current page, for the template to draw."""
        return [row.record for row in self.paginated_rows]


class FindingTable(PagedTable):
    code = tables.Column()
    title = tables.Column()
    phase = tables.Column()
    priority = tables.Column()
    status = tables.Column()
    owner = tables.Column()
    checklist = tables.Column()
    effort = tables.Column()

    class Meta:
        model = Finding
        fields = ("code", "title", "phase", "priority", "status", "owner", "checklist", "effort")
        order_by = "code"
        per_page = 25
        empty_text = "No findings match these filters."
        attrs = {"class": "data-table"}
        template_name = "findings/finding_table.html"

    def __init__(self, *args, lock_reasons: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lock_reasons = lock_reasons

    def page_records(self) -> list[Finding]:
        """The findings of the current page, each with `lock_reason` ("" when not locked)."""
        findings = super().page_records()
        for finding in findings:
            finding.lock_reason = self.lock_reasons.get(finding.phase_id, "")
        return findings

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


class AuditEventTable(PagedTable):
    created_at = tables.Column(verbose_name="Time")
    actor_username = tables.Column(verbose_name="Actor")
    action = tables.Column()
    object_repr = tables.Column(verbose_name="Object", orderable=False)
    permission = tables.Column(orderable=False)
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
        empty_text = "No audit events match these filters."
        attrs = {"class": "data-table"}
        template_name = "findings/audit_table.html"

    def order_created_at(self, queryset, is_descending):
        return _ordered(queryset, "created_at", is_descending, "-id" if is_descending else "id")

    def order_actor_username(self, queryset, is_descending):
        return _ordered(queryset, "actor_username", is_descending, "-created_at", "-id")

    def order_action(self, queryset, is_descending):
        return _ordered(queryset, "action", is_descending, "-created_at", "-id")
