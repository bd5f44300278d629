"""The exported tactical documents: the list with QA results, one document, and the zip.

Every role may read them, as every role may read the findings' pages: the documents show
nothing a finding's page does not. A signed-in user without a role gets a 403, as everywhere.
"""

import posixpath
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from findings.export.qa_cache import plan_summary, section_qa
from findings.export.reports import (
    FileReport,
    SandboxRun,
    document_report,
    readme_report,
    report_groups,
)
from findings.export.snapshot import ExportSnapshot, snapshot_load
from findings.export.tree import README, ExportRefused, zip_stream
from findings.markdown import render_markdown
from findings.page_cache import cached_page
from findings.views.access import permission_needed


def _get_report(snapshot: ExportSnapshot, file_name: str) -> FileReport:
    """One exported file, rendered and checked, or 404."""
    if file_name == README:
        return readme_report(snapshot)
    for entry in snapshot.documents:
        if entry.document.file_name == file_name:
            return document_report(snapshot, entry)
    raise Http404(f"No tactical document is called {file_name!r}.")


def _tree_link_target(snapshot: ExportSnapshot, report: FileReport) -> Callable[[str], str]:
    """Map a relative link of the exported file to the page showing its target here.

    The exported tree links its files and phase folders relative to each other, which the
    browser would resolve under /documents/ to pages that do not exist. A link to anything
    else (another site, an anchor) or to a path the tree does not hold is kept as written.
    """
    pages = {README: reverse("document_detail", args=[README])}
    for phase_entry in snapshot.phases:
        pages[phase_entry.phase.folder_name] = reverse(
            "phase_detail", args=[phase_entry.phase.code]
        )
    for entry in snapshot.documents:
        pages[entry.path] = reverse("document_detail", args=[entry.document.file_name])
    folder = posixpath.dirname(report.path)

    def link_target(href: str) -> str:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
            return href
        path = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
        page = pages.get(path)
        if page is None:
            return href
        return f"{page}#{parts.fragment}" if parts.fragment else page

    return link_target


@require_GET
@permission_needed("findings.view_tacticaldocument")
@cached_page
def document_list(request: HttpRequest) -> HttpResponse:
    return render(request, "findings/document_list.html", {"summary": plan_summary()})


@require_GET
@permission_needed("findings.view_tacticaldocument")
@cached_page
def document_detail(request: HttpRequest, file_name: str) -> HttpResponse:
    snapshot = snapshot_load()
    report = _get_report(snapshot, file_name)
    sandbox = SandboxRun.start()
    groups = report_groups(report, sandbox)
    context = {
        "report": report,
        "sections": section_qa(report, groups),
        "sandbox_off_reason": sandbox.off_reason,
        "preview": render_markdown(report.text, link_target=_tree_link_target(snapshot, report)),
        "lines": report.text.rstrip("\n").split("\n"),
        # The README's mermaid graph is only source text in the preview; draw it beside.
        "graph": snapshot.figures.graph if file_name == README else None,
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
