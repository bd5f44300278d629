from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from findings.models import NotificationKind
from findings.services.notification_settings import (
    notification_kinds_enabled,
    notification_settings_set,
)
from findings.views.access import permission_needed


class NotificationSettingsForm(forms.Form):
    # A browser sends only the ticked boxes: a kind absent from the POST is turned off.
    kinds = forms.MultipleChoiceField(
        choices=NotificationKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Email me when",
    )


@require_http_methods(["GET", "POST"])
@permission_needed("findings.view_phase")
def user_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = NotificationSettingsForm(
            initial={"kinds": notification_kinds_enabled(user=request.user)}
        )
        return render(request, "findings/settings.html", {"form": form})
    form = NotificationSettingsForm(request.POST)
    if not form.is_valid():
        return render(request, "findings/settings.html", {"form": form}, status=400)
    notification_settings_set(user=request.user, enabled_kinds=form.cleaned_data["kinds"])
    messages.success(request, "Your notification settings are saved.")
    return redirect("user_settings")
