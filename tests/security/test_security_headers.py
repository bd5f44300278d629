"""The headers every response carries: the Content-Security-Policy, and Cache-Control: private
on what a signed-in user is shown."""

import pytest

from findings.models import ChecklistItem

HTMX = {"HX-Request": "true"}
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
SIGNED_IN_PAGES = [
    "/",
    "/findings/",
    "/findings/SI-001/",
    "/phases/2A/",
    "/audit/",
    "/documents/",
    "/documents/SI-001_TACTICAL_PLAN.md/",
    "/export/tactical_plans.zip",
    "/accounts/password_change/",
    "/admin/",
    "/admin/findings/finding/",
    "/admin/findings/finding/add/",
    "/findings/SI-999/",
]
ANONYMOUS_PAGES = ["/accounts/login/", "/admin/login/", "/healthz", "/readyz", "/", "/nowhere/"]


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(directive.strip().split(" ", 1) for directive in header.split(";"))


def cache_control_of(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.fixture
def staff_client(client, admin_user, catalogue):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_it_sends_the_content_security_policy_with_every_signed_in_page(staff_client, url):
    response = staff_client.get(url)

    assert response.status_code in (200, 404), url
    assert policy_of(response) == POLICY


@pytest.mark.parametrize("url", ANONYMOUS_PAGES)
def test_it_sends_the_content_security_policy_to_anonymous_visitors(client, db, url):
    assert policy_of(client.get(url)) == POLICY


def test_it_sends_the_content_security_policy_with_htmx_fragments(staff_client):
    response = staff_client.get("/findings/?phase=2A", headers=HTMX)

    assert "<html" not in response.content.decode()
    assert policy_of(response) == POLICY


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_it_marks_every_response_to_a_signed_in_user_private(staff_client, url):
    assert "private" in cache_control_of(staff_client.get(url)), url


def test_it_marks_an_htmx_fragment_private(staff_client):
    table = staff_client.get("/findings/?phase=2A", headers=HTMX)
    item = ChecklistItem.objects.get(finding__code="SI-001", position=1)
    tick = staff_client.post(
        f"/checklist/{item.pk}/", {"checked": "true", "version": "1"}, headers=HTMX
    )

    assert (table.status_code, tick.status_code) == (200, 200)
    assert "private" in cache_control_of(table)
    assert "private" in cache_control_of(tick)


def test_it_marks_the_zip_export_private(client, viewer, catalogue):
    client.force_login(viewer)

    response = client.get("/export/tactical_plans.zip")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert cache_control_of(response) == {"private"}


def test_it_keeps_what_a_view_said_about_caching(staff_client):
    # The admin's views are never_cache: private joins no-cache and no-store, replacing nothing.
    response = staff_client.get("/admin/")

    assert cache_control_of(response) >= {"no-cache", "no-store", "must-revalidate", "private"}


def test_it_leaves_anonymous_responses_as_their_views_made_them(client, db):
    health = client.get("/healthz")
    redirect_to_login = client.get("/findings/")

    assert health["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert redirect_to_login.status_code == 302
    assert "Cache-Control" not in redirect_to_login


def test_it_does_not_read_the_session_of_a_health_check(client, viewer, django_assert_num_queries):
    client.force_login(viewer)

    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
