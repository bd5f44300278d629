"""The API's answer when the database does not answer: 503, Retry-After, its error shape."""

from tests.api.conftest import bearer
from tests.database_faults import database_failing


def test_the_api_asks_to_try_again_in_its_error_shape(client, read_only_token):
    client.raise_request_exception = False
    with database_failing():
        response = client.get("/api/v1/findings/", headers=bearer(read_only_token))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == "database_unavailable"
