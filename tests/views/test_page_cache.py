"""Read pages kept under the audit chain's head and the viewer (findings/page_cache.py).

A test client's first page sets its CSRF cookie; from the second on, a page is kept, so `warm`
reads a page twice and the next read of it is answered from the cache.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import messages
from django.contrib.auth.models import Group, Permission
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from findings.models import ChecklistItem
from findings.roles import REVIEWER, VIEWER
from tests.phase_work import make_ready

PROJECT = Path(__file__).resolve().parents[2]
FINDING = "/findings/SI-001/"
# A hit reads the session, its user, the user's permissions and the audit chain's head; nothing
# the page shows. The audit log also reads its open lockouts' counts, which grow without events.
HIT_QUERIES = 4
AUDIT_LOG_HIT_QUERIES = 5
READS = [
    "/",
    "/findings/",
    "/findings/?status=planned",
    FINDING,
    "/phases/2A/",
    "/audit/",
    "/documents/",
    "/documents/SI-001_TACTICAL_PLAN.md/",
    "/api/v1/findings/",
    "/api/v1/findings/SI-001/",
    "/api/v1/phases/",
    "/api/v1/phases/2A/",
    "/api/v1/audit/",
]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def warm(client: Client, url: str) -> str:
    client.get(url)
    return client.get(url).content.decode()


def on_worker(name: str):
    """Run the block as one of two app processes: each keeps its pages in its own memory."""
    location = {"LOCATION": f"worker-{name}"}
    backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    return override_settings(
        CACHES={
            "default": {**backend, "LOCATION": f"worker-{name}-default"},
            "pages": {**backend, **location},
        }
    )


@pytest.fixture
def first_item(catalogue) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code="SI-001", position=1)


def reviewer_with_audit_log(reviewer):
    # Whether or not a role gives it, the audit log is a permission away.
    reviewer.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    return reviewer


@pytest.mark.parametrize("url", READS)
def test_it_answers_a_repeated_read_without_rendering(
    url, catalogue, reviewer, django_assert_num_queries
):
    client = logged_in(reviewer_with_audit_log(reviewer))
    first = warm(client, url)

    with django_assert_num_queries(AUDIT_LOG_HIT_QUERIES if url == "/audit/" else HIT_QUERIES):
        response = client.get(url)

    assert response.status_code == 200
    # The CSRF token in a kept form is masked afresh on a render; the rest is the same page.
    assert (
        response.content.decode().split("csrfmiddlewaretoken")[0]
        == first.split("csrfmiddlewaretoken")[0]
    )


def test_it_shows_a_change_made_through_another_worker(catalogue, reviewer, first_item):
    client = logged_in(reviewer)
    with on_worker("a"):
        before = warm(client, FINDING)
    with on_worker("b"):
        response = client.post(
            f"/checklist/{first_item.pk}/",
            {"checked": "true", "version": first_item.version},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
    with on_worker("a"):
        after = client.get(FINDING).content.decode()

    assert after.count("is-checked") == before.count("is-checked") + 1
    assert "ticked by reviewer" in after


def test_it_refuses_a_deactivated_user_whose_page_is_kept(catalogue, reviewer):
    client = logged_in(reviewer)
    warm(client, FINDING)
    # Straight to the table: no signal, no audit event, so the chain's head does not move.
    type(reviewer).objects.filter(pk=reviewer.pk).update(is_active=False)

    response = client.get(FINDING)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_a_user_who_signed_out(catalogue, reviewer):
    client = logged_in(reviewer)
    warm(client, FINDING)
    client.post("/accounts/logout/")

    assert client.get(FINDING).status_code == 302


def test_it_refuses_a_user_whose_role_was_removed(catalogue, reviewer):
    client = logged_in(reviewer)
    warm(client, FINDING)
    reviewer.groups.through.objects.filter(user=reviewer).delete()

    response = client.get(FINDING)

    assert response.status_code == 403


def test_it_takes_away_the_buttons_of_a_role_removed_without_an_event(catalogue, reviewer):
    client = logged_in(reviewer)
    assert "<noscript><button" in warm(client, FINDING)
    reviewer.groups.through.objects.filter(user=reviewer).delete()
    reviewer.groups.through.objects.create(user=reviewer, group=Group.objects.get(name=VIEWER))

    page = client.get(FINDING).content.decode()

    assert "<noscript><button" not in page


def test_two_viewers_with_different_permissions_never_see_each_others_buttons(
    catalogue, viewer, reviewer, lead
):
    make_ready(reviewer)
    clients = {user.username: logged_in(user) for user in (viewer, reviewer, lead)}
    # Twice round: the second time every page comes from the cache.
    for _ in range(2):
        finding = {name: warm(client, FINDING) for name, client in clients.items()}
        phase = {name: warm(client, "/phases/2A/") for name, client in clients.items()}

        assert 'class="edit-link' in finding["reviewer"]
        assert 'class="edit-link' not in finding["viewer"]
        assert "Sign off phase 2A" in phase["lead"]
        assert "Sign off phase 2A" not in phase["reviewer"]
        assert "Request signoff" in phase["reviewer"]
        assert "Request signoff" not in phase["viewer"]
        for name, page in finding.items():
            assert f'<span class="who">{name}</span>' in page


def test_it_never_gives_one_users_page_to_the_next_user_of_the_same_browser(
    catalogue, reviewer, django_user_model
):
    colleague = django_user_model.objects.create_user("reviewer2")
    colleague.groups.add(Group.objects.get(name=REVIEWER))
    client = logged_in(reviewer)
    warm(client, FINDING)
    # The browser keeps its CSRF cookie; the same role gives the same permissions.
    client.force_login(colleague)

    assert '<span class="who">reviewer2</span>' in client.get(FINDING).content.decode()


def test_it_shows_a_message_waiting_for_a_kept_page(catalogue, reviewer):
    client = logged_in(reviewer)
    warm(client, FINDING)
    storage = CookieStorage(HttpRequest())
    storage.add(messages.SUCCESS, "Everything saved.")
    carrier = HttpResponse()
    storage.update(carrier)
    client.cookies["messages"] = carrier.cookies["messages"].value

    assert "Everything saved." in client.get(FINDING).content.decode()
    assert "Everything saved." not in client.get(FINDING).content.decode()


def test_it_keeps_a_partial_apart_from_its_page(catalogue, reviewer):
    client = logged_in(reviewer)
    warm(client, "/findings/")
    partial = client.get("/findings/", headers={"HX-Request": "true", "HX-Target": "finding-table"})
    page = client.get("/findings/").content.decode()

    assert "<html" not in partial.content.decode()
    assert "<html" in page


def test_a_kept_forms_token_is_accepted(catalogue, reviewer, first_item):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    page = warm(client, FINDING)
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]

    response = client.post(
        f"/checklist/{first_item.pk}/",
        {"checked": "true", "version": first_item.version, "csrfmiddlewaretoken": token},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200


def test_it_renders_every_time_with_the_page_cache_off(catalogue, reviewer, settings):
    settings.PAGE_CACHE_SECONDS = 0
    client = logged_in(reviewer)
    warm(client, FINDING)

    with CaptureQueriesContext(connection) as queries:
        client.get(FINDING)

    assert len(queries) > HIT_QUERIES


def settings_with(**environment) -> subprocess.CompletedProcess:
    program = "import domainflow.settings as s; print(s.CACHES['pages'], s.PAGE_CACHE_SECONDS)"
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=PROJECT,
        env={**os.environ, "SECRET_KEY": "t", "AUDIT_CHAIN_KEY": "t", **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_keeps_pages_in_a_shared_cache_named_by_cache_url():
    result = settings_with(CACHE_URL="redis://cache.internal:6379/2")

    assert "django.core.cache.backends.redis.RedisCache" in result.stdout
    assert "redis://cache.internal:6379/2" in result.stdout
    assert "'KEY_PREFIX': 'pages'" in result.stdout


def test_it_refuses_a_page_cache_lifetime_that_is_not_a_number():
    result = settings_with(PAGE_CACHE_SECONDS="five minutes")

    assert result.returncode != 0
    assert "PAGE_CACHE_SECONDS must be a whole number of seconds" in result.stderr


def test_it_shows_a_lockouts_count_grown_since_the_audit_log_was_kept(
    client, catalogue, viewer, admin_user, settings, plain_http_test_server
):
    settings.AXES_ENABLED = True

    def refused_login():
        client.post(
            "/accounts/login/",
            {"username": "viewer", "password": "wrong"},
            REMOTE_ADDR="198.51.100.20",
        )

    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        refused_login()
    reader = logged_in(admin_user)
    assert "(2 refused logins)" in warm(reader, "/audit/")
    # Counted on the lockout's window: no audit event, so the chain's head stands.
    refused_login()

    assert "(3 refused logins)" in reader.get("/audit/").content.decode()
