"""The exported tactical documents: the list with QA results, one document, and the zip.

Every role may read them, as every role may read the findings' pages: the documents show
nothing a finding's page does not. A signed-in user without a role gets a 403, as everywhere.
"""

from http import HTTPStatus

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from findings.export.reports import FileReport, document_report, readme_report, tree_reports
from findings.export.snapshot import snapshot_load
from findings.export.tree import README, ExportRefused, zip_stream
from findings.markdown import render_markdown
from findings.views.access import permission_needed


def _get_report(file_name: str) -> FileReport:
    """One exported file, rendered and checked, or 404."""
    snapshot = snapshot_load()
    if file_name == README:
        return readme_report(snapshot)
    for entry in snapshot.documents:
        if entry.document.file_name == file_name:
            return document_report(snapshot, entry)
    raise Http404(f"No tactical document is called {file_name!r}.")


@require_GET
@permission_needed("findings.view_tacticaldocument")
def document_list(request: HttpRequest) -> HttpResponse:
    reports = tree_reports(snapshot_load())
    context = {
        "reports": reports,
        "files_passing": sum(report.passed for report in reports),
        "failures": sum(len(report.problems) for report in reports),
    }
    return render(request, "findings/document_list.html", context)


@require_GET
@permission_needed("findings.view_tacticaldocument")
def document_detail(request: HttpRequest, file_name: str) -> HttpResponse:
    report = _get_report(file_name)
    context = {
        "report": report,
        "preview": render_markdown(report.text),
        "lines": report.text.rstrip("\n").split("\n"),
    }
    return render(request, "findings/document_detail.html", context)


@require_GET
@permission_needed("findings.view_tacticaldocument")
def tactical_plans_zip(request: HttpRequest) -> HttpResponse:
    """The same files as `export_tactical_docs` writes, zipped as they are rendered."""
    try:
        chunks = zip_stream(snapshot_load())
    except ExportRefused as refusal:
        return HttpResponse(
            str(refusal), status=HTTPStatus.CONFLICT, content_type="text/plain; charset=utf-8"
        )
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="tactical_plans.zip"'
    return response
