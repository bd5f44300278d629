"""`/settings/tokens/`: a user's own API tokens, created (shown once) and revoked."""

import re
from datetime import timedelta

from django.utils import timezone

from findings.models import ApiToken, AuditEvent
from findings.services.tokens import token_authenticate, token_create
from tests.helpers import context_for

RAW_TOKEN = re.compile(r"dft_[A-Za-z0-9_-]{40}")


def own_token(user, name="laptop", scope="read"):
    return token_create(
        user=user, name=name, scope=scope, expires_at=None, context=context_for(user)
    )


# GET /settings/tokens/


def test_it_lists_a_users_tokens_without_their_secret(client, reviewer, lead):
    token, raw = own_token(reviewer)
    own_token(lead, name="someone else's")
    client.force_login(reviewer)

    response = client.get("/settings/tokens/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f"dft_{token.prefix}…" in html and "laptop" in html
    assert raw not in html and not RAW_TOKEN.search(html)
    assert "someone else" not in html
    assert "no-store" in response["Cache-Control"]


def test_it_refuses_a_viewer(client, viewer):
    client.force_login(viewer)

    assert client.get("/settings/tokens/").status_code == 403


def test_it_links_the_tokens_from_the_settings_page_for_those_who_may_make_them(
    client, reviewer, viewer
):
    client.force_login(reviewer)
    assert 'href="/settings/tokens/"' in client.get("/settings/").content.decode()

    client.force_login(viewer)
    assert 'href="/settings/tokens/"' not in client.get("/settings/").content.decode()


# POST /settings/tokens/


def test_it_creates_a_token_and_shows_it_once(client, reviewer):
    client.force_login(reviewer)

    response = client.post(
        "/settings/tokens/", {"name": "nightly", "scope": "tick", "expires_on": "2999-01-31"}
    )

    assert response.status_code == 201
    raw = RAW_TOKEN.search(response.content.decode()).group()
    token = token_authenticate(raw)
    assert (token.user, token.name, token.scope) == (reviewer, "nightly", "tick")
    assert timezone.localtime(token.expires_at).date().isoformat() == "2999-02-01"
    assert AuditEvent.objects.filter(action="api_token.created").count() == 1
    assert RAW_TOKEN.search(client.get("/settings/tokens/").content.decode()) is None


def test_it_refuses_bad_input_with_a_400_and_makes_nothing(client, reviewer):
    client.force_login(reviewer)

    for data in (
        {"name": "", "scope": "read"},
        {"name": "two\nlines", "scope": "read"},
        {"name": "x", "scope": "sign"},
        {"name": "x", "scope": "read", "expires_on": "not a date"},
        {"name": "x" * 101, "scope": "read"},
    ):
        assert client.post("/settings/tokens/", data).status_code == 400, data

    assert not ApiToken.objects.exists()


def test_it_refuses_an_expiry_in_the_past_with_the_reason(client, reviewer):
    client.force_login(reviewer)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()

    response = client.post(
        "/settings/tokens/", {"name": "old", "scope": "read", "expires_on": yesterday}
    )

    assert response.status_code == 400
    assert "The expiry must be in the future." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_it_refuses_a_viewers_post(client, viewer):
    client.force_login(viewer)

    assert client.post("/settings/tokens/", {"name": "x", "scope": "read"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_it_answers_another_method_with_405(client, reviewer):
    client.force_login(reviewer)

    assert client.put("/settings/tokens/").status_code == 405


# POST /settings/tokens/<id>/revoke/


def test_it_revokes_a_users_own_token(client, reviewer):
    token, raw = own_token(reviewer)
    client.force_login(reviewer)

    response = client.post(f"/settings/tokens/{token.pk}/revoke/")

    assert (response.status_code, response["Location"]) == (302, "/settings/tokens/")
    assert token_authenticate(raw) is None
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1
    assert "revoked" in client.get("/settings/tokens/").content.decode()


def test_it_answers_404_for_someone_elses_token_and_leaves_it(client, reviewer, lead):
    token, raw = own_token(lead)
    client.force_login(reviewer)

    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post("/settings/tokens/999999/revoke/").status_code == 404
    assert token_authenticate(raw) is not None


def test_it_refuses_get_on_revoke(client, reviewer):
    token, _raw = own_token(reviewer)
    client.force_login(reviewer)

    assert client.get(f"/settings/tokens/{token.pk}/revoke/").status_code == 405


# The Django admin: tokens for service accounts


def test_an_admin_makes_a_service_accounts_token_and_sees_it_once(admin_client, ci_bot):
    response = admin_client.post(
        "/admin/findings/apitoken/add/",
        {"user": ci_bot.pk, "name": "pipeline", "scope": "tick", "expires_at": ""},
        follow=True,
    )

    assert response.status_code == 200
    raw = RAW_TOKEN.search(response.content.decode()).group()
    assert token_authenticate(raw).user == ci_bot
    assert RAW_TOKEN.search(admin_client.get("/admin/findings/apitoken/").content.decode()) is None


def test_the_admin_refuses_a_token_for_a_person_and_makes_none(admin_client, reviewer):
    response = admin_client.post(
        "/admin/findings/apitoken/add/",
        {"user": reviewer.pk, "name": "impersonation", "scope": "tick", "expires_at": ""},
        follow=True,
    )

    assert "No token was made" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_admin_revokes_tokens_through_the_service(admin_client, admin_user, ci_bot):
    token, raw = token_create(
        user=ci_bot, name="pipeline", scope="tick", expires_at=None, context=context_for(admin_user)
    )

    admin_client.post(
        "/admin/findings/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )

    assert token_authenticate(raw) is None
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1
