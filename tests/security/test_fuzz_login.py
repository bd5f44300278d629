"""Hypothesis over the login form: only the right password logs in; a refusal changes nothing.

Each example runs in a savepoint that is rolled back and compares a digest of every table before
and after the request (tests/security/fuzzing.py): a refusal changes nothing, a success does
exactly what it asked.
"""

import re
import unicodedata
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PASSWORD
from tests.security.fuzzing import (
    BODY_SHAPES,
    LOGIN_TABLES,
    assert_no_server_error,
    changed,
    db_state,
    fuzz,
    last,
    rolled_back,
    send,
    values,
)


def is_same_site(location: str) -> bool:
    """A redirect a browser resolves against this site: no scheme, no host, no `//` or `\\`."""
    compact = re.sub(r"[\x00-\x20\x7f]", "", location)
    parts = urlsplit(compact.replace("\\", "/"))
    return not parts.scheme and not parts.netloc and not compact.startswith(("//", "/\\"))


def _normalised_username(value: str | None) -> str | None:
    """The username as Django's UsernameField reads it; too long a name is left as it came."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped if len(stripped) > USERNAME_LENGTH else unicodedata.normalize("NFKC", stripped)


USERNAME_LENGTH = get_user_model()._meta.get_field("username").max_length


@fuzz
@given(
    username=values("admin", "ａｄｍｉｎ", " admin ", "Admin", "nobody", "x" * 151, "x" * 256),
    password=values(PASSWORD, PASSWORD + " ", "wrong"),
    next_url=values("/findings/", "https://evil.example/", "//evil.example/", "javascript:x"),
    shape=st.sampled_from(BODY_SHAPES),
)
def test_a_login_succeeds_only_with_the_right_password_and_a_refusal_changes_nothing(
    throttled_logins, username, password, next_url, shape
):
    fields = {"username": username, "password": password, "next": next_url}
    client = Client()
    with rolled_back():
        before = db_state(*LOGIN_TABLES)

        response = send(client, "/accounts/login/", fields, shape, htmx=False)

        assert_no_server_error(response)
        after = db_state(*LOGIN_TABLES)
        name, secret = last(fields, "username", shape), last(fields, "password", shape)
        valid_name = _normalised_username(name)
        # A name longer than the username column can never log in, and should not be tried.
        form_is_valid = bool(valid_name) and len(valid_name) <= USERNAME_LENGTH
        form_is_valid = form_is_valid and "\x00" not in valid_name
        form_is_valid = form_is_valid and bool(secret) and "\x00" not in secret
        if form_is_valid and valid_name == "admin" and secret == PASSWORD:
            assert response.status_code == 302, fields
            assert is_same_site(response["Location"]), response["Location"]
            assert changed(before, after) <= {"auth.User", "axes.AccessLog", "axes.AccessAttempt"}
            return
        assert response.status_code in (200, 400), fields
        # Throttling records a refused login that reached authentication, and nothing else does.
        recorded = {"axes.AccessAttempt", "axes.AccessFailureLog"} if form_is_valid else set()
        assert changed(before, after) <= recorded, (fields, changed(before, after))


# URL arguments: codes, file names and ids that name nothing.


def test_a_username_longer_than_any_account_is_refused_by_the_form(throttled_logins):
    # Found by the login test above: Django's login form does not enforce the username's length,
    # and django-axes stores the attempt in a varchar(255), which PostgreSQL refuses with a
    # DataError: a 500. SQLite ignores the length and records the attempt.
    before = db_state(*LOGIN_TABLES)

    response = Client().post("/accounts/login/", {"username": "x" * 256, "password": PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert db_state(*LOGIN_TABLES) == before
