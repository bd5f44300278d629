"""/settings/tokens/: a user's own API tokens, created (the raw token shown once) and revoked."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from findings.models import ApiToken, ApiTokenScope, validate_single_line
from findings.services.audit import ActionContext
from findings.services.tokens import OWN_TOKENS_PERMISSION, token_create, token_revoke
from findings.views.access import permission_needed


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        validators=[validate_single_line],
        help_text="What uses it, e.g. “laptop” or “nightly pipeline”.",
    )
    scope = forms.ChoiceField(choices=ApiTokenScope.choices, initial=ApiTokenScope.READ)
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Expires after",
        help_text="Optional: the token works until the end of this day.",
    )

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data["expires_on"]
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _page(request: HttpRequest, form: TokenCreateForm, *, raw: str = "", status: int = 200):
    tokens = ApiToken.objects.filter(user=request.user)
    context = {"form": form, "tokens": tokens, "raw_token": raw, "now": timezone.now()}
    return render(request, "findings/tokens.html", context, status=status)


# The page that shows a new token must never be stored by a browser or a proxy.
@never_cache
@require_http_methods(["GET", "POST"])
@permission_needed(OWN_TOKENS_PERMISSION)
def token_list(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, TokenCreateForm())
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        _token, raw = token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=form.expires_at(),
            context=ActionContext.from_request(request),
        )
    except ValidationError as error:
        form.add_error(None, error.messages)
        return _page(request, form, status=400)
    return _page(request, TokenCreateForm(), raw=raw, status=201)


@require_POST
@permission_needed(OWN_TOKENS_PERMISSION)
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = token_revoke(token_id=token_id, context=ActionContext.from_request(request))
    except ApiToken.DoesNotExist:
        raise Http404("You have no such token.") from None
    messages.success(request, f"The token {token} is revoked: it is refused from now on.")
    return redirect("token_list")
