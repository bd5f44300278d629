"""Writing a finding's document sections on its page: the editor, its live preview, the save.

With JavaScript each section's Edit control swaps the section for the editor (HTMX); without
it, Edit is a link to the same editor as a page of its own, whose form posts to the same URL.
"""

import difflib
from http import HTTPStatus

from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from findings.export.qa import WRITTEN_FIELDS, field_problems
from findings.forms import ContentForm, ContentPreviewForm, form_errors_sentence
from findings.gates import phases_relocked_by_revoking
from findings.markdown import render_code, render_markdown
from findings.models import Finding, Signoff
from findings.services.audit import ActionContext
from findings.services.content import (
    EDIT_CONTENT,
    ContentField,
    content_field_for,
    content_text,
    finding_content_save,
)
from findings.services.errors import StaleVersion
from findings.views.access import permission_needed

PAGE = "findings/content_edit.html"


def _get_section(code: str, field: str) -> tuple[Finding, ContentField]:
    """The finding (404 if unknown) and its section `field` (400 if it has none such)."""
    finding = get_object_or_404(Finding.objects.select_related("phase", "owner"), code=code)
    try:
        return finding, content_field_for(finding, field)
    except ValidationError as unknown:
        raise BadRequest(" ".join(unknown.messages)) from unknown


@require_http_methods(["GET", "POST"])
@permission_needed(EDIT_CONTENT)
def finding_content_edit(request: HttpRequest, code: str, field: str) -> HttpResponse:
    finding, spec = _get_section(code, field)
    if request.method == "GET":
        text = content_text(finding, field)
        return _editor(request, finding, spec, text=text, version=finding.content_version)
    form = ContentForm(request.POST)
    if not form.is_valid():
        raise BadRequest(f"The section was not understood. {form_errors_sentence(form)}")
    text, version = form.cleaned_data["text"], form.cleaned_data["version"]
    try:
        finding = finding_content_save(
            code=code,
            field=field,
            text=text,
            expected_version=version,
            context=ActionContext.from_request(request),
        )
    except StaleVersion as stale:
        return _conflict(request, stale, spec, text=text)
    except ValidationError as invalid:
        status, error = HTTPStatus.UNPROCESSABLE_ENTITY, " ".join(invalid.messages)
        return _editor(
            request, finding, spec, text=text, version=version, error=error, status=status
        )
    if not _partial_wanted(request):
        return redirect(f"{finding.get_absolute_url()}#content-section-{field}")
    context = {**_section_context(request, finding, spec), "note": "Saved."}
    return render(request, f"{PAGE}#content-section", context)


@require_POST
@permission_needed(EDIT_CONTENT)
def finding_content_preview(request: HttpRequest, code: str, field: str) -> HttpResponse:
    """The section's preview and QA for the text being typed; changes nothing."""
    finding, spec = _get_section(code, field)
    form = ContentPreviewForm(request.POST)
    if not form.is_valid():
        raise BadRequest(f"The text was not understood. {form_errors_sentence(form)}")
    context = {
        "finding": finding,
        "spec": spec,
        **_preview_context(spec, form.cleaned_data["text"]),
    }
    return render(request, f"{PAGE}#content-preview", context)


@require_GET
@permission_needed("findings.view_finding")
def finding_content_section(request: HttpRequest, code: str, field: str) -> HttpResponse:
    """The section as the finding's page shows it: what the editor's Cancel swaps back."""
    finding, spec = _get_section(code, field)
    if not _partial_wanted(request):
        return redirect(f"{finding.get_absolute_url()}#content-section-{field}")
    return render(request, f"{PAGE}#content-section", _section_context(request, finding, spec))


def _partial_wanted(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _section_context(request: HttpRequest, finding: Finding, spec: ContentField) -> dict:
    return {
        "finding": finding,
        "spec": spec,
        "text": content_text(finding, spec.name),
        "can_edit": request.user.has_perm(EDIT_CONTENT),
    }


def _editor(
    request: HttpRequest,
    finding: Finding,
    spec: ContentField,
    *,
    text: str,
    version: int,
    status: int = HTTPStatus.OK,
    **extra,
) -> HttpResponse:
    context = {
        "finding": finding,
        "spec": spec,
        "text": text,
        "version": version,
        "signoff_warning": signoff_warning(finding),
        **_preview_context(spec, text),
        **extra,
    }
    inline = _partial_wanted(request)
    template = f"{PAGE}#content-editor" if inline else PAGE
    return render(request, template, {**context, "inline": inline}, status=status)


def _conflict(request: HttpRequest, stale: StaleVersion, spec: ContentField, *, text: str):
    """Their saved text beside the author's, and the diff; the form now carries the current
    version, so saving again is a deliberate choice made after seeing theirs.
    """
    current = stale.current
    theirs = content_text(current, spec.name)
    diff = difflib.unified_diff(
        theirs.splitlines(), text.splitlines(), "saved (theirs)", "yours", lineterm=""
    )
    return _editor(
        request,
        current,
        spec,
        text=text,
        version=current.content_version,
        status=HTTPStatus.CONFLICT,
        error=stale.message,
        conflict={"theirs": theirs, "diff": [_diff_line(line) for line in diff]},
    )


def _diff_line(line: str) -> tuple[str, str]:
    """(kind, line) for one line of a unified diff: added, removed, hunk or same."""
    if line.startswith(("+++", "---")):
        return "file", line
    kinds = {"+": "added", "-": "removed", "@": "hunk"}
    return kinds.get(line[:1], "same"), line


def _preview_context(spec: ContentField, text: str) -> dict:
    if spec.kind == "prose":
        preview = render_markdown(text)
    elif spec.kind == "code":
        preview = render_code(text, spec.language)
    else:
        preview = None
    checked = spec.name in WRITTEN_FIELDS
    return {
        "preview": preview,
        "preview_text": text,
        "qa_checked": checked,
        "problems": field_problems(spec.name, text) if checked else [],
    }


def signoff_warning(finding: Finding) -> str:
    """What a save would undo: the phase's signoff and the phases it unlocks; "" if nothing."""
    phase = finding.phase
    if phase is None or not Signoff.objects.active().filter(phase=phase).exists():
        return ""
    warning = (
        f"Phase {phase.code} is signed off. Saving a change revokes its signoff, which must then "
        "be given again"
    )
    relocked = phases_relocked_by_revoking(phase.pk)
    if relocked:
        codes = ", ".join(later.code for later in relocked)
        warning += f", and relocks phase{'s' if len(relocked) > 1 else ''} {codes} until it is"
    return warning + "."
