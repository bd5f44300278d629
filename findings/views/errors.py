from django.http import HttpRequest, HttpResponseForbidden
from django.template.loader import render_to_string


def permission_denied(request: HttpRequest, exception=None) -> HttpResponseForbidden:
    """A 403 that names the missing permission; HTMX gets just the message to show in place."""
    template = "403.html#refusal" if getattr(request, "htmx", False) else "403.html"
    context = {"exception": str(exception or "") or "Your role does not allow this."}
    return HttpResponseForbidden(render_to_string(template, context, request=request))
