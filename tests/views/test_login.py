from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from tests.conftest import PASSWORD


@pytest.fixture
def demo_password(db, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.setenv("DOMAINFLOW_DEMO_PASSWORD", "demo-password-for-tests")
    call_command("demo_users", stdout=StringIO())
    settings.DEBUG = False
    return "demo-password-for-tests"


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_it_shows_the_login_page_to_anyone(client, db):
    response = client.get("/accounts/login/?next=/")

    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content
    assert b'<input type="hidden" name="next" value="/">' in response.content


def test_a_demo_user_logs_in_and_sees_the_findings(client, catalogue, demo_password):
    response = client.post(
        "/accounts/login/", {"username": "viewer", "password": demo_password, "next": "/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert b"SI-001" in page.content


def test_a_wrong_password_is_refused_with_a_message(client, viewer):
    response = client.post("/accounts/login/", {"username": "viewer", "password": "wrong"})

    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_every_role_sees_the_dashboard_after_logging_in(client, catalogue, persona, request):
    user = request.getfixturevalue(persona)
    assert client.login(username=user.username, password=PASSWORD)

    response = client.get("/")

    assert response.status_code == 200
    assert b"SI-001" in response.content


def test_a_logged_in_user_without_a_role_is_refused_the_dashboard(client, catalogue, outsider):
    assert client.login(username="outsider", password=PASSWORD)

    response = client.get("/")

    assert response.status_code == 403
    assert b"SI-001" not in response.content


def test_logging_out_is_a_post(client, viewer):
    client.force_login(viewer)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_logging_out_by_get_is_refused(client, viewer):
    client.force_login(viewer)

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert client.get("/").status_code == 200


SITE_REFUSAL = b"Please enter a correct username and password."
ADMIN_REFUSAL = b"Please enter the correct username and password for a staff account."


@pytest.mark.parametrize(
    ("url", "refusal"),
    [("/accounts/login/", SITE_REFUSAL), ("/admin/login/", ADMIN_REFUSAL)],
    ids=["site", "admin"],
)
@pytest.mark.parametrize(
    ("fields", "headers"),
    [
        ({"username": "u" * 300, "password": "wrong"}, {}),
        ({"username": "view\x00er", "password": "wrong"}, {}),
        ({"username": "viewer", "password": "wr\x00ng"}, {}),
        ({"username": "", "password": ""}, {}),
        (
            {"username": "viewer", "password": "wrong"},
            {"HTTP_USER_AGENT": "agent\x00" * 1000, "HTTP_ACCEPT": "text/html\x00" * 500},
        ),
    ],
    ids=["long username", "NUL in username", "NUL in password", "blank", "NUL-laden headers"],
)
def test_it_refuses_any_login_input_with_the_usual_message(
    client, viewer, settings, url, refusal, fields, headers
):
    settings.AXES_ENABLED = True

    response = client.post(url, fields, **headers)

    assert response.status_code == 200
    assert refusal in response.content
    assert "_auth_user_id" not in client.session


def test_login_throttling_records_any_username_within_its_column(db, settings):
    # The forms refuse such names first; this is for any other way into authenticate().
    settings.AXES_ENABLED = True
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="203.0.113.7")

    assert authenticate(request, username="u" * 300, password="wrong") is None

    [attempt] = AccessAttempt.objects.all()
    assert attempt.username == "u" * 255
