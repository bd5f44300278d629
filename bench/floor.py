"""The floor every authenticated page pays, as two views that bench/throughput.py measures.

Both run under the app's whole middleware stack (session, authentication, login required) with a
reviewer's session cookie and do nothing else: the first reads the user from the session, the
second also reads the user's permissions, in the one query every page's permission check makes.
This URLconf is the app's with these two views added; only bench/floor_settings.py serves it, so
the app's own URLconf, and the role × endpoint matrix the tests build from it, stay free of them.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path

from domainflow import urls as app_urls

TICK_PERMISSION = "findings.tick_checklistitem"


def session_user(request: HttpRequest) -> HttpResponse:
    """The session and its user, as every page reads them before its own work."""
    if not request.user.is_authenticated:
        raise PermissionDenied
    return HttpResponse("ok", content_type="text/plain")


def session_user_permissions(request: HttpRequest) -> HttpResponse:
    """The same, then the user's permissions, as every page checks one."""
    if not request.user.has_perm(TICK_PERMISSION):
        raise PermissionDenied
    return HttpResponse("ok", content_type="text/plain")


# Django takes error handlers from the root URLconf only.
handler403 = app_urls.handler403
handler500 = app_urls.handler500

urlpatterns = [
    *app_urls.urlpatterns,
    path("bench/session/", session_user),
    path("bench/permissions/", session_user_permissions),
]
