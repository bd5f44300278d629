from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from findings.selectors import completed_findings, phase_cards


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {"cards": phase_cards(), "completed": completed_findings()}
    return render(request, "findings/dashboard.html", context)
