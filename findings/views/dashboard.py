from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from findings.models import Finding, Phase, Status


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    findings = Finding.objects.select_related("phase").order_by("phase__order", "code")
    phases = list(Phase.objects.all())
    by_phase = {phase.pk: [] for phase in phases}
    completed = []
    for finding in findings:
        if finding.status == Status.COMPLETED:
            completed.append(finding)
        else:
            by_phase[finding.phase_id].append(finding)
    context = {
        "phases": [(phase, by_phase[phase.pk]) for phase in phases],
        "completed": completed,
    }
    return render(request, "findings/dashboard.html", context)
