"""The user's settings page: GET and POST `/settings/`, which kinds of notification they receive."""

import pytest
from django.test import Client

from findings.models import NotificationKind, NotificationSetting

ALL_KINDS = ["ready_to_sign", "signoff_requested", "signed", "revoked"]


def settings_of(user) -> dict[str, bool]:
    return dict(NotificationSetting.objects.filter(user=user).values_list("kind", "enabled"))


def ticked(html: str) -> list[str]:
    """The kinds whose checkbox the page shows ticked."""
    return [kind for kind in ALL_KINDS if _is_ticked(html, kind)]


def _is_ticked(html: str, kind: str) -> bool:
    start = html.index(f'value="{kind}"')
    tag = html[html.rindex("<input", 0, start) : html.index(">", start)]
    return "checked" in tag


# GET /settings/


def test_it_shows_every_kind_ticked_for_a_user_who_changed_nothing(client, reviewer):
    reviewer.email = "reviewer@example.com"
    reviewer.save()
    client.force_login(reviewer)

    response = client.get("/settings/")

    assert response.status_code == 200
    html = response.content.decode()
    assert ticked(html) == ALL_KINDS
    for label in NotificationKind.labels:
        assert label in html.replace("&#x27;", "'")
    assert "Notifications go to <strong>reviewer@example.com</strong>." in html
    assert 'href="/settings/" aria-current="page">Settings</a>' in html


def test_it_shows_the_kinds_a_user_turned_off_unticked(client, lead):
    NotificationSetting.objects.create(user=lead, kind="signed", enabled=False)
    client.force_login(lead)

    html = client.get("/settings/").content.decode()

    assert ticked(html) == [
        "ready_to_sign",
        "signoff_requested",
        "revoked",
    ]


def test_it_tells_a_user_without_an_email_address_that_they_receive_nothing(client, viewer):
    client.force_login(viewer)

    html = client.get("/settings/").content.decode()

    assert "Your account has no email address, so you receive no notifications" in html


# POST /settings/


def test_it_saves_the_ticked_kinds_and_turns_the_others_off(client, lead):
    client.force_login(lead)

    response = client.post("/settings/", {"kinds": ["ready_to_sign", "revoked"]})

    assert (response.status_code, response["Location"]) == (302, "/settings/")
    assert settings_of(lead) == {
        "ready_to_sign": True,
        "signoff_requested": False,
        "signed": False,
        "revoked": True,
    }
    page = client.get("/settings/").content.decode()
    assert "Your notification settings are saved." in page
    assert ticked(page) == ["ready_to_sign", "revoked"]


def test_it_turns_everything_off_when_nothing_is_ticked(client, reviewer):
    NotificationSetting.objects.create(user=reviewer, kind="signed", enabled=False)
    client.force_login(reviewer)

    client.post("/settings/", {})

    assert settings_of(reviewer) == dict.fromkeys(ALL_KINDS, False)


def test_it_changes_only_the_users_own_settings(client, lead, reviewer):
    client.force_login(lead)

    client.post("/settings/", {"kinds": ["signed"]})

    assert settings_of(reviewer) == {}


@pytest.mark.parametrize("kinds", [["signed", "sent"], ["<script>"], [""]])
def test_it_refuses_an_unknown_kind_and_changes_nothing(client, lead, kinds):
    client.force_login(lead)

    response = client.post("/settings/", {"kinds": kinds})

    assert response.status_code == 400
    assert "is not one of the available choices" in response.content.decode()
    assert "<script>" not in response.content.decode()
    assert settings_of(lead) == {}


def test_it_refuses_a_post_without_the_csrf_token(lead):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(lead)

    response = browser.post("/settings/", {"kinds": ["signed"]})

    assert response.status_code == 403
    assert settings_of(lead) == {}


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_it_answers_other_methods_with_405(client, lead, method):
    client.force_login(lead)

    assert getattr(client, method)("/settings/").status_code == 405


# Who may use it


def test_it_sends_an_anonymous_visitor_to_log_in(client, db):
    for response in (client.get("/settings/"), client.post("/settings/", {})):
        assert (response.status_code, response["Location"]) == (
            302,
            "/accounts/login/?next=/settings/",
        )


def test_it_refuses_an_account_without_a_role(client, outsider):
    client.force_login(outsider)

    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", {"kinds": []}).status_code == 403
    assert settings_of(outsider) == {}


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_lets_every_role_save_their_settings(client, persona, request):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    assert client.get("/settings/").status_code == 200
    assert client.post("/settings/", {"kinds": ["signed"]}).status_code == 302
    assert settings_of(user)["signed"] is True
