import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseServerError
from django.template.loader import render_to_string

# How long a client is asked to wait before trying again when the database did not answer: about
# what a PostgreSQL restart or a failover takes (bench/RESULTS.md: back within 1.3 s).
DATABASE_RETRY_SECONDS = 5


def permission_denied(request: HttpRequest, exception=None) -> HttpResponseForbidden:
    """A 403 that names the missing permission; HTMX gets just the message to show in place."""
    template = "403.html#refusal" if getattr(request, "htmx", False) else "403.html"
    context = {"exception": str(exception or "") or "Your role does not allow this."}
    return HttpResponseForbidden(render_to_string(template, context, request=request))


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500; or a 503 with Retry-After when the database did not answer (restarting, failing
    over, a lost connection), which a client or a load balancer may simply try again.

    Rendered without the request's context: that would read the database again.
    """
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
        return response
    return HttpResponseServerError(render_to_string("500.html"))
