from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. It touches nothing else: the benchmarks' baseline."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
@never_cache
@login_not_required
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database answers too. Says nothing about why not, to anyone."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("not ready\n", content_type="text/plain", status=503)
    return HttpResponse("ready\n", content_type="text/plain")
