"""Logging out: POST /accounts/logout/ lands on the login page, which says it worked, once."""


def test_it_says_on_the_login_page_that_the_user_has_logged_out(client, viewer):
    client.force_login(viewer)

    response = client.post("/accounts/logout/", follow=True)

    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert b"You have logged out." in response.content
    assert client.get("/").status_code == 302
    assert b"You have logged out." not in client.get("/accounts/login/").content
