"""How django-axes counts and clears failed logins here (settings AXES_HANDLER and friends).

Axes locks out by account and by address. Its own reset after a successful login deletes every
attempt matching either, so one good login as anyone from an address wiped the failures against
every other account from it: four guesses at `admin`, one real login as `reviewer`, repeat.
"""

from axes.conf import settings
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.http import HttpRequest

from findings.services.audit import printable

USERNAME_LIMIT = AccessAttempt._meta.get_field("username").max_length
USER_AGENT_LIMIT = AccessAttempt._meta.get_field("user_agent").max_length
HTTP_ACCEPT_LIMIT = AccessAttempt._meta.get_field("http_accept").max_length
PATH_LIMIT = AccessAttempt._meta.get_field("path_info").max_length


def recorded_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username axes counts and records, as posted but fitting its column on every database.

    Names longer than the column share one record: no account can have them anyway.
    """
    if credentials:
        username = credentials.get(settings.AXES_USERNAME_FORM_FIELD)
    else:
        username = getattr(request, "data", request.POST).get(settings.AXES_USERNAME_FORM_FIELD)
    if username is None:
        return None
    return printable(str(username))[:USERNAME_LIMIT]


class AccountResetDatabaseHandler(AxesDatabaseHandler):
    """Axes' database handler, with a success clearing only the failures against its account."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        deleted, _ = AccessAttempt.objects.filter(
            username=recorded_username(request, credentials)
        ).delete()
        return deleted

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is not None:
            _bound_client_details(request)
        return super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender, request, user, **kwargs):
        _bound_client_details(request)
        return super().user_logged_in(sender, request, user, **kwargs)


def _bound_client_details(request: HttpRequest) -> None:
    """Make the headers axes records storable: axes cuts them to length but keeps NUL bytes."""
    request.axes_user_agent = printable(request.axes_user_agent)[:USER_AGENT_LIMIT]
    request.axes_http_accept = printable(request.axes_http_accept)[:HTTP_ACCEPT_LIMIT]
    request.axes_path_info = printable(request.axes_path_info)[:PATH_LIMIT]
