from django.urls import path, register_converter

from findings import converters
from findings.api.main import api_urls
from findings.views import (
    audit,
    content,
    csv_export,
    dashboard,
    document_import,
    documents,
    finding_list,
    findings,
    health,
    phases,
    tokens,
)
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
    path("findings/export.csv", csv_export.finding_list_csv, name="finding_list_csv"),
    path("audit/export.csv", csv_export.audit_list_csv, name="audit_list_csv"),
    path("findings/<finding:code>/", findings.finding_detail, name="finding_detail"),
    path("findings/<finding:code>/status/", findings.finding_status_change, name="finding_status"),
    path(
        "findings/<finding:code>/edit/<slug:field>/",
        content.finding_content_edit,
        name="finding_content_edit",
    ),
    path(
        "findings/<finding:code>/edit/<slug:field>/preview/",
        content.finding_content_preview,
        name="finding_content_preview",
    ),
    path(
        "findings/<finding:code>/sections/<slug:field>/",
        content.finding_content_section,
        name="finding_content_section",
    ),
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
    path("documents/import/", document_import.document_import, name="document_import"),
    path(
        "documents/import/apply/",
        document_import.document_import_apply,
        name="document_import_apply",
    ),
    path("documents/<document:file_name>/", documents.document_detail, name="document_detail"),
    path("export/tactical_plans.zip", documents.tactical_plans_zip, name="tactical_plans_zip"),
    path("settings/", user_settings_views.user_settings, name="user_settings"),
    path("settings/tokens/", tokens.token_list, name="token_list"),
    path(
        "settings/tokens/<row:token_id>/revoke/",
        tokens.token_revoke_view,
        name="token_revoke",
    ),
    path("api/v1/", api_urls()),
]
