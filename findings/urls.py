from django.urls import path, register_converter

from findings import converters
from findings.views import audit, dashboard, documents, finding_list, findings, health, phases
from findings.views import settings as user_settings_views

register_converter(converters.FindingCodeConverter, "finding")
register_converter(converters.PhaseCodeConverter, "phase")
register_converter(converters.DocumentFileConverter, "document")
register_converter(converters.RowIdConverter, "row")

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", dashboard.dashboard, name="dashboard"),
    path("findings/", finding_list.finding_list, name="finding_list"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("findings/<finding:code>/", findings.finding_detail, name="finding_detail"),
    path("findings/<finding:code>/status/", findings.finding_status_change, name="finding_status"),
    path("checklist/<row:item_id>/", findings.checklist_item_tick, name="checklist_item_tick"),
    path("phases/<phase:code>/", phases.phase_detail, name="phase_detail"),
    path("phases/<phase:code>/signoff/", phases.phase_sign, name="phase_sign"),
    path("phases/<phase:code>/signoff/revoke/", phases.phase_revoke, name="phase_revoke"),
    path(
        "phases/<phase:code>/signoff/request/",
        phases.phase_signoff_request,
        name="phase_signoff_request",
    ),
    path("documents/", documents.document_list, name="document_list"),
    path("documents/<document:file_name>/", documents.document_detail, name="document_detail"),
    path("export/tactical_plans.zip", documents.tactical_plans_zip, name="tactical_plans_zip"),
    path("settings/", user_settings_views.user_settings, name="user_settings"),
]
