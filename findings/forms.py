from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator

from findings.models import Status

MAX_VERSION = 2**31 - 1


class ChecklistTickForm(forms.Form):
    """The state a reviewer wants an item in, and the version of the item their page showed.

    The page sends a hidden "false" before the checkbox's "true", so an unticked box still says
    what it wants; a QueryDict gives the last value.
    """

    checked = forms.TypedChoiceField(
        choices=[("true", "ticked"), ("false", "unticked")],
        coerce=lambda value: value == "true",
    )
    version = forms.IntegerField(min_value=1, max_value=MAX_VERSION)


class StatusChangeForm(forms.Form):
    target = forms.ChoiceField(
        choices=[(s.value, s.label) for s in Status if s != Status.COMPLETED]
    )
    version = forms.IntegerField(min_value=1, max_value=MAX_VERSION)


def form_errors_sentence(form: forms.Form) -> str:
    """All of a form's errors as one sentence naming each field, for a refusal message."""
    return " ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())


class SignoffForm(forms.Form):
    comment = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you checked, for the record.",
    )


class RevokeSignoffForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this signoff no longer stands.",
    )


class LoginForm(AuthenticationForm):
    """Django's login form, refusing a username longer than any account's before any lookup.

    Django sets the username's max_length after building the field, so it never checks it, and
    login throttling would then try to record the oversized name.
    """

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))
