"""The audit log: every recorded change, newest first, filtered and paged like the findings."""

from django.db.models import F, QuerySet
from django.utils.decorators import method_decorator

from findings.filters import AuditEventFilter
from findings.models import AuditEvent
from findings.page_cache import cached_page
from findings.services.audit import open_lockout_counts
from findings.tables import AuditEventTable
from findings.views.finding_list import FilteredTableView

LOG_FIELDS = (
    "created_at",
    "actor_username",
    "action",
    "before",
    "after",
    "object_repr",
    "permission",
    "request_id",
    "finding",
    "finding__code",
)


# A lockout's count of refused logins grows without an event of its own.
@method_decorator(cached_page(state=open_lockout_counts), name="get")
class AuditListView(FilteredTableView):
    permission_required = "findings.view_auditevent"
    filterset_class = AuditEventFilter
    table_class = AuditEventTable
    template_name = "findings/audit_list.html"
    partial_name = "audit-table"

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return (
            AuditEvent.objects.select_related("finding")
            .only(*LOG_FIELDS)
            # A lockout event's count of refused logins grows after the event; a join, not a query.
            .annotate(lockouts=F("lockout_window__lockouts"))
            .order_by("-created_at", "-id")
        )


audit_list = AuditListView.as_view()
