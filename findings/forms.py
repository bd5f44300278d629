import re

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from findings.models import Status

MAX_VERSION = 2**31 - 1
# In a str pattern [0-9] is these ten characters only; \d would match any script's digits.
ASCII_DIGITS = re.compile(r"[0-9]+")


class AsciiIntegerField(forms.IntegerField):
    """A whole number written in the digits 0-9 and nothing else.

    int(), and so Django's IntegerField, also reads other scripts' digits ("١" is 1), underscores
    ("1_0" is 10) and signs; none of those is what our pages send, so they are refused as invalid.
    """

    default_error_messages = {"invalid": "Enter a whole number using only the digits 0-9."}

    def to_python(self, value):
        if value not in self.empty_values and not ASCII_DIGITS.fullmatch(str(value).strip()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class ChecklistTickForm(forms.Form):
    """The state a reviewer wants an item in, and the version of the item their page showed.

    The page sends a hidden "false" before the checkbox's "true", so an unticked box still says
    what it wants; a QueryDict gives the last value.
    """

    checked = forms.TypedChoiceField(
        choices=[("true", "ticked"), ("false", "unticked")],
        coerce=lambda value: value == "true",
    )
    version = AsciiIntegerField(min_value=1, max_value=MAX_VERSION)
    # Sent once the user has accepted that the tick bars them from signing the phase off.
    acknowledged_signing_bar = forms.BooleanField(required=False)


class StatusChangeForm(forms.Form):
    target = forms.ChoiceField(
        choices=[(s.value, s.label) for s in Status if s != Status.COMPLETED]
    )
    version = AsciiIntegerField(min_value=1, max_value=MAX_VERSION)


def form_errors_sentence(form: forms.Form) -> str:
    """All of a form's errors as one sentence naming each field, for a refusal message."""
    return " ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())


class SignoffForm(forms.Form):
    """A signoff as confirmed: the comment, and the fingerprint of the content the signer saw.

    The page writes the fingerprint it showed into a hidden input itself, so that a form drawn
    again after a refusal carries the current fingerprint, never the one posted.
    """

    comment = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you checked, for the record.",
    )
    fingerprint = forms.RegexField(
        regex=r"\A[0-9a-f]{64}\Z",
        error_messages={"invalid": "A content fingerprint is 64 lowercase hexadecimal digits."},
    )


class RevokeSignoffForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this signoff no longer stands.",
    )


class BoundedLoginMixin:
    """A login form that refuses any username or password no account can have, before any lookup.

    Django sets the username's max_length after building the field, so it never checks it, and
    login throttling would then try to record the oversized name. Whatever the reason a field is
    refused (too long, a NUL byte, missing), the form answers as it does to a wrong password.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))

    def clean(self):
        refused = [name for name in ("username", "password") if name in self.errors]
        for name in refused:
            del self.errors[name]
        if refused:
            raise self.get_invalid_login_error()
        return super().clean()


class LoginForm(BoundedLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(BoundedLoginMixin, AdminAuthenticationForm):
    pass


# Far beyond any section a document needs, and small enough that QA of one preview stays quick.
SECTION_TEXT_LIMIT = 100_000


class ContentPreviewForm(forms.Form):
    """A section's text exactly as typed: no stripping, so code keeps its indentation and lines."""

    text = forms.CharField(
        required=False,
        strip=False,
        max_length=SECTION_TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
    )


class ContentForm(ContentPreviewForm):
    """The text, and the content version the editor was opened on."""

    version = AsciiIntegerField(min_value=1, max_value=MAX_VERSION)
