"""Uploading an exported tree, edited, to import its documents: upload, preview, confirm.

The upload is planned and shown, changing nothing; the zip waits in the session under its hash,
and the confirmation names that hash, so what is applied is the zip that was previewed. The
import plans again when it applies: a section saved in the tracker meanwhile is a conflict.
"""

import base64
import hashlib
from http import HTTPStatus

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from findings.export.importing import TreeUnreadable, zip_files
from findings.services.audit import ActionContext
from findings.services.content import EDIT_CONTENT
from findings.services.content_import import ImportRefused, content_import
from findings.views.access import permission_needed

SESSION_KEY = "document_import"
# An exported tree zips to a few hundred kilobytes.
UPLOAD_LIMIT = 5 * 1024 * 1024


class UploadForm(forms.Form):
    archive = forms.FileField(label="Exported tree (tactical_plans.zip)")

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        if archive.size > UPLOAD_LIMIT:
            raise forms.ValidationError("This file is far larger than an exported tree.")
        return archive.read()


class ApplyForm(forms.Form):
    digest = forms.RegexField(regex=r"\A[0-9a-f]{64}\Z")


def _page(request: HttpRequest, status: int = HTTPStatus.OK, **context) -> HttpResponse:
    context.setdefault("form", UploadForm())
    return render(request, "findings/document_import.html", context, status=status)


def _refused(request: HttpRequest, status: int, problems: list[str]) -> HttpResponse:
    return _page(request, status, problems=problems)


@require_http_methods(["GET", "POST"])
@permission_needed(EDIT_CONTENT)
def document_import(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, HTTPStatus.UNPROCESSABLE_ENTITY, form=form)
    data = form.cleaned_data["archive"]
    try:
        files = zip_files(data)
        plan = content_import(
            files=files, context=ActionContext.from_request(request), dry_run=True
        )
    except TreeUnreadable as refusal:
        return _refused(request, HTTPStatus.UNPROCESSABLE_ENTITY, [str(refusal)])
    except ImportRefused as refusal:
        return _refused(request, HTTPStatus.UNPROCESSABLE_ENTITY, refusal.problems)
    digest = hashlib.sha256(data).hexdigest()
    request.session[SESSION_KEY] = {"digest": digest, "zip": base64.b64encode(data).decode()}
    return _page(request, plan=plan, digest=digest)


@require_POST
@permission_needed(EDIT_CONTENT)
def document_import_apply(request: HttpRequest) -> HttpResponse:
    form = ApplyForm(request.POST)
    stored = request.session.get(SESSION_KEY) or {}
    if not form.is_valid() or stored.get("digest") != form.cleaned_data["digest"]:
        problem = "This preview is no longer the upload waiting here: upload the zip again."
        return _refused(request, HTTPStatus.CONFLICT, [problem])
    try:
        plan = content_import(
            files=zip_files(base64.b64decode(stored["zip"])),
            context=ActionContext.from_request(request),
        )
    except ImportRefused as refusal:
        return _refused(request, HTTPStatus.CONFLICT, refusal.problems)
    del request.session[SESSION_KEY]
    messages.success(
        request,
        f"Imported {len(plan.changes)} section{'s' if len(plan.changes) != 1 else ''} "
        f"from {len(plan.documents)} documents.",
    )
    return redirect("document_list")
