"""A method a path does not take is refused in the API's error shape, naming what it takes."""

from tests.api.conftest import bearer


def test_it_answers_a_method_the_path_does_not_take_in_the_error_shape(client, ci_token):
    response = client.delete("/api/v1/findings/SI-001/", headers=bearer(ci_token))

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json() == {
        "error": "method_not_allowed",
        "detail": "DELETE is not allowed here; use GET.",
    }
