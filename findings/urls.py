from django.urls import path

from findings.views import audit, dashboard, documents, finding_list, findings, health, phases

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", dashboard.dashboard, name="dashboard"),
    path("findings/", finding_list.finding_list, name="finding_list"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("findings/<str:code>/", findings.finding_detail, name="finding_detail"),
    path("findings/<str:code>/status/", findings.finding_status_change, name="finding_status"),
    path("checklist/<int:item_id>/", findings.checklist_item_tick, name="checklist_item_tick"),
    path("phases/<str:code>/", phases.phase_detail, name="phase_detail"),
    path("phases/<str:code>/signoff/", phases.phase_sign, name="phase_sign"),
    path("phases/<str:code>/signoff/revoke/", phases.phase_revoke, name="phase_revoke"),
    path("documents/", documents.document_list, name="document_list"),
    path("documents/<str:file_name>/", documents.document_detail, name="document_detail"),
    path("export/tactical_plans.zip", documents.tactical_plans_zip, name="tactical_plans_zip"),
]
