"""When the server fails: a 503 with Retry-After if the database did not answer, else a 500."""

import pytest
from django.db import connection

from tests.database_faults import DATABASE_DOWN, database_failing


@pytest.fixture
def failing_client(viewer_client):
    # As in production: the error handler answers, rather than the test client raising.
    viewer_client.raise_request_exception = False
    return viewer_client


def test_it_asks_to_try_again_when_the_database_does_not_answer(failing_client):
    with database_failing():
        response = failing_client.get("/findings/SI-001/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "The database did not answer" in response.content.decode()


def test_it_names_no_internals_when_the_database_does_not_answer(failing_client):
    with database_failing():
        content = failing_client.get("/").content.decode()

    database = connection.settings_dict
    internals = [DATABASE_DOWN, "OperationalError", "Traceback", database["ENGINE"]]
    assert [word for word in internals if word in content] == []


def test_it_answers_any_other_failure_with_a_500(failing_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("findings.views.dashboard.phase_cards", broken)

    response = failing_client.get("/")

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "Something went wrong on our side" in response.content.decode()
