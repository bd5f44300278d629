from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from findings.burndown import burndowns
from findings.page_cache import cached_page
from findings.selectors import completed_findings, phase_cards
from findings.views.access import permission_needed


@require_GET
@permission_needed("findings.view_finding")
@cached_page
def dashboard(request: HttpRequest) -> HttpResponse:
    cards = phase_cards()
    context = {
        "cards": cards,
        "completed": completed_findings(),
        "burndown": burndowns(cards)[None],
    }
    return render(request, "findings/dashboard.html", context)
