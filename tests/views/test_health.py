"""The health checks at /healthz (liveness, no database) and /readyz (readiness, database too)."""

import pytest
from django.conf import settings

from tests.database_faults import DATABASE_DOWN, database_failing

# /readyz needs a database to ask; /healthz gets one so that counting its queries means something.
pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def test_it_says_the_process_is_alive_to_anonymous_callers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"] == "text/plain"


def test_it_says_the_process_is_alive_to_logged_in_users(viewer_client):
    response = viewer_client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_it_answers_liveness_without_a_single_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        client.get("/healthz")


def test_it_answers_liveness_without_a_query_even_with_a_session_cookie(
    viewer_client, django_assert_num_queries
):
    # A browser or a monitor that once logged in sends its cookie; reading it would be a query.
    with django_assert_num_queries(0):
        viewer_client.get("/healthz")


def test_it_answers_liveness_while_the_database_is_down(client):
    with database_failing():
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_it_answers_liveness_while_the_database_is_down_even_with_a_session_cookie(
    viewer_client,
):
    viewer_client.raise_request_exception = False

    with database_failing():
        response = viewer_client.get("/healthz")

    assert response.status_code == 200


def test_it_answers_health_checks_without_sending_anyone_to_log_in(client):
    for url in ["/healthz", "/readyz"]:
        response = client.get(url)

        assert response.status_code == 200, url
        assert "Location" not in response, url


def test_it_sets_no_cookie_and_forbids_caching(client):
    for url in ["/healthz", "/readyz"]:
        response = client.get(url)

        assert response.cookies == {}, url
        # A cached answer would report a process or database that has since gone away.
        assert "no-cache" in response["Cache-Control"], url


def test_it_says_ready_when_the_database_answers(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.content == b"ready\n"


def test_it_says_not_ready_when_the_database_is_down(client):
    with database_failing():
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.content == b"not ready\n"


def test_it_names_no_internals_when_not_ready(client):
    database = settings.DATABASES["default"]
    internals = [DATABASE_DOWN, "OperationalError", "Traceback"] + [
        str(database[key]) for key in ["ENGINE", "NAME", "HOST", "PORT", "USER"] if database[key]
    ]

    with database_failing():
        content = client.get("/readyz").content.decode()

    assert [word for word in internals if word in content] == []


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_refuses_methods_other_than_get(client, url, method):
    response = getattr(client, method)(url)

    assert response.status_code == 405
    assert response["Allow"] == "GET"
