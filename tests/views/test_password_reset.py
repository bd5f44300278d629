"""Password reset is off until mail is configured: its pages do not exist; password change does."""

import pytest

from tests.conftest import PASSWORD

RESET_URLS = [
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/x/y/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
]


@pytest.mark.parametrize("url", RESET_URLS)
def test_it_answers_404_for_every_password_reset_page(client, db, url):
    assert client.get(url).status_code == 404
    assert client.post(url, {"email": "viewer@example.com"}).status_code == 404


@pytest.mark.parametrize("url", RESET_URLS)
def test_it_answers_404_for_the_reset_pages_to_a_signed_in_user_too(client, viewer, url):
    client.force_login(viewer)

    assert client.get(url).status_code == 404


def test_it_offers_no_reset_link_on_the_login_page(client, db):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b"reset" not in response.content.lower()


def test_it_still_lets_a_signed_in_user_change_their_password(client, viewer):
    client.force_login(viewer)
    new_password = "a different passphrase for this test"

    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    assert client.get("/accounts/password_change/done/").status_code == 200
    viewer.refresh_from_db()
    assert viewer.check_password(new_password)


def test_it_still_logs_a_user_out(client, viewer):
    client.force_login(viewer)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
