"""The findings table: filtered, sorted and paged, re-rendering only the table over HTMX."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.decorators import method_decorator
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from findings.filters import FindingFilter
from findings.gates import FINISHED, lock_reasons, phases_with_signoff
from findings.models import ChecklistItem, Dependency, Finding
from findings.page_cache import cached_page
from findings.tables import FindingTable

LIST_FIELDS = (
    "code",
    "title",
    "priority",
    "priority_unconfirmed",
    "status",
    "effort_min_days",
    "effort_max_days",
    "phase__code",
    "phase__name",
    "phase__order",
    "owner__username",
)


class FilteredTableView(PermissionRequiredMixin, SingleTableMixin, FilterView):
    """A permission-guarded, filtered django-tables2 page whose table region HTMX re-renders.

    Subclasses name the template and the `{% partialdef %}` that wraps `{% render_table %}`.
    Filter values the form rejects give 400 with the errors in that region.
    """

    partial_name = ""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if self.filterset.errors:
            response.status_code = 400
        return response

    def is_partial(self) -> bool:
        return bool(self.request.htmx and not self.request.htmx.history_restore_request)

    def get_template_names(self) -> list[str]:
        if self.is_partial():
            return [f"{self.template_name}#{self.partial_name}"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        return super().get_context_data(partial=self.is_partial(), **kwargs)


def _checklist_count(**conditions) -> Coalesce:
    # Subqueries rather than Count() over a join, so no other join can multiply the counts.
    items = (
        ChecklistItem.objects.filter(finding=OuterRef("pk"), **conditions)
        .order_by()
        .values("finding")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(items, output_field=IntegerField()), 0)


def _first_unfinished_dependency() -> Subquery:
    # What a planned finding waits on, so the table says why it cannot start without a query
    # per row.
    unfinished = (
        Dependency.objects.filter(finding=OuterRef("pk"))
        .exclude(depends_on__status__in=FINISHED)
        .order_by("depends_on__code")
        .values("depends_on__code")
    )
    return Subquery(unfinished[:1])


def finding_rows() -> QuerySet[Finding]:
    """Findings with what the table shows, and no more, in one query."""
    return (
        Finding.objects.select_related("phase", "owner")
        .only(*LIST_FIELDS)
        .annotate(
            checklist_total=_checklist_count(),
            checklist_ticked=_checklist_count(checked=True),
            waits_on=_first_unfinished_dependency(),
        )
        .order_by("code")
    )


@method_decorator(cached_page, name="get")
class FindingListView(FilteredTableView):
    permission_required = "findings.view_finding"
    filterset_class = FindingFilter
    table_class = FindingTable
    template_name = "findings/finding_list.html"
    partial_name = "finding-table"

    def get_queryset(self) -> QuerySet[Finding]:
        return finding_rows()

    def get_table_kwargs(self) -> dict:
        # One query for every row's lock, not one per row.
        return {"lock_reasons": lock_reasons(phases_with_signoff())}


finding_list = FindingListView.as_view()
