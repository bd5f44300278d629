"""CSRF: every state-changing endpoint refuses a POST without the token, HTMX requests included.

The client enforces CSRF checks as a browser's requests would face them. Each test first GETs
the page a user would be on, so the session has a CSRF cookie, as a victim's browser would when
another site posts a forged form to us; only the token in the request is missing.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from findings.models import AuditEvent, ChecklistItem, Finding, Phase, Signoff, Status
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_set
from findings.services.signoffs import content_fingerprint, phase_content, signoff_sign
from findings.services.status import finding_status_set
from tests.admin_forms import form_data
from tests.conftest import PASSWORD

NEW_PASSWORD = "a different passphrase for csrf"
BODY_HX_HEADERS = re.compile(r"<body hx-headers='([^']*)'>")


@dataclass(frozen=True)
class Endpoint:
    """A state-changing POST: who makes it, from which page, with what valid body.

    {item} and {finding} in `page` and `url` are SI-001's first checklist item and SI-001.
    `data` gets the page's response, for forms whose fields only the page knows.
    """

    persona: str | None
    page: str
    url: str
    data: Callable
    htmx: bool = False
    setup: Callable | None = None


def make_2a_ready(users: dict) -> None:
    """Tick every 2A item and move every 2A finding to done, as the reviewer, through services."""
    context = ActionContext(actor=users["reviewer"], request_id="csrf-setup")
    for item in ChecklistItem.objects.filter(finding__phase__code="2A"):
        checklist_item_set(
            item_id=item.pk, checked=True, expected_version=item.version, context=context
        )
    for finding in Finding.objects.filter(phase__code="2A"):
        for target in (Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE):
            finding = finding_status_set(
                finding_id=finding.pk,
                target=target,
                expected_version=finding.version,
                context=context,
            )


def sign_2a(users: dict) -> None:
    make_2a_ready(users)
    context = ActionContext(actor=users["lead"], request_id="csrf-setup")
    phase = Phase.objects.get(code="2A")
    signoff_sign(
        phase_id=phase.pk,
        expected_fingerprint=content_fingerprint(phase_content(phase.pk)),
        comment="Checked before the CSRF test.",
        context=context,
    )


def first_item() -> ChecklistItem:
    return ChecklistItem.objects.filter(finding__code="SI-001").order_by("position").first()


ENDPOINTS = {
    "tick": Endpoint(
        persona="reviewer",
        page="/findings/SI-001/",
        url="/checklist/{item}/",
        data=lambda page: {"checked": "true", "version": first_item().version},
        htmx=True,
    ),
    "status": Endpoint(
        persona="reviewer",
        page="/findings/SI-001/",
        url="/findings/SI-001/status/",
        data=lambda page: {
            "target": Status.IN_PROGRESS,
            "version": Finding.objects.get(code="SI-001").version,
        },
        htmx=True,
    ),
    "sign": Endpoint(
        persona="lead",
        page="/phases/2A/signoff/",
        url="/phases/2A/signoff/",
        data=lambda page: {
            "comment": "Ran every 2A migration and its rollback.",
            "fingerprint": re.search(
                r'name="fingerprint" value="([0-9a-f]{64})"', page.content.decode()
            ).group(1),
        },
        htmx=True,
        setup=make_2a_ready,
    ),
    "revoke": Endpoint(
        persona="lead",
        page="/phases/2A/",
        url="/phases/2A/signoff/revoke/",
        data=lambda page: {"reason": "The migration locks the accounts table."},
        htmx=True,
        setup=sign_2a,
    ),
    "logout": Endpoint(
        persona="reviewer", page="/findings/SI-001/", url="/accounts/logout/", data=lambda page: {}
    ),
    "login": Endpoint(
        persona=None,
        page="/accounts/login/",
        url="/accounts/login/",
        data=lambda page: {"username": "viewer", "password": PASSWORD},
    ),
    "password change": Endpoint(
        persona="lead",
        page="/accounts/password_change/",
        url="/accounts/password_change/",
        data=lambda page: {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    ),
    "admin finding change": Endpoint(
        persona="admin_user",
        page="/admin/findings/finding/{finding}/change/",
        url="/admin/findings/finding/{finding}/change/",
        data=lambda page: {**form_data(page.content.decode()), "title": "Retitled by a forgery"},
    ),
}
HTMX_ENDPOINTS = [name for name, endpoint in ENDPOINTS.items() if endpoint.htmx]


@dataclass
class Visit:
    """A browser with CSRF checks on, signed in as the endpoint's persona, on its page."""

    client: Client
    page: object
    url: str
    data: dict


@pytest.fixture
def users(catalogue, viewer, reviewer, lead, admin_user) -> dict:
    return {"viewer": viewer, "reviewer": reviewer, "lead": lead, "admin_user": admin_user}


def visit(name: str, users: dict) -> Visit:
    endpoint = ENDPOINTS[name]
    if endpoint.setup:
        endpoint.setup(users)
    ids = {"item": first_item().pk, "finding": Finding.objects.get(code="SI-001").pk}
    client = Client(enforce_csrf_checks=True)
    if endpoint.persona:
        client.force_login(users[endpoint.persona])
    page = client.get(endpoint.page.format(**ids))
    assert page.status_code == 200
    assert "csrftoken" in client.cookies
    return Visit(client, page, endpoint.url.format(**ids), endpoint.data(page))


def state(client: Client) -> tuple:
    """Everything the endpoints can change: the audit log, the catalogue, signoffs, accounts."""
    return (
        AuditEvent.objects.count(),
        list(Finding.objects.order_by("pk").values_list("pk", "title", "status", "version")),
        list(ChecklistItem.objects.order_by("pk").values_list("pk", "checked", "version")),
        list(Signoff.objects.order_by("pk").values_list("pk", "revoked_at")),
        list(get_user_model().objects.order_by("pk").values_list("pk", "password", "last_login")),
        client.session.get("_auth_user_id"),
        len(mail.outbox),
    )


def hx_headers_token(page) -> str:
    [headers] = BODY_HX_HEADERS.findall(page.content.decode())
    return json.loads(headers)["x-csrftoken"]


def assert_refused_for_csrf(response) -> None:
    assert response.status_code == 403
    assert b"CSRF verification failed" in response.content


@pytest.mark.parametrize("name", ENDPOINTS)
def test_it_refuses_a_post_without_the_token(users, name):
    browser = visit(name, users)
    before = state(browser.client)

    response = browser.client.post(browser.url, browser.data)

    assert_refused_for_csrf(response)
    assert state(browser.client) == before


@pytest.mark.parametrize("name", ENDPOINTS)
def test_it_refuses_an_htmx_post_without_the_token(users, name):
    browser = visit(name, users)
    before = state(browser.client)

    response = browser.client.post(browser.url, browser.data, headers={"HX-Request": "true"})

    assert_refused_for_csrf(response)
    assert state(browser.client) == before


@pytest.mark.parametrize("name", ENDPOINTS)
def test_it_refuses_a_token_from_another_browser(users, name):
    browser = visit(name, users)
    stranger = Client(enforce_csrf_checks=True)
    stranger.get("/accounts/login/")
    before = state(browser.client)

    response = browser.client.post(
        browser.url,
        browser.data,
        headers={"HX-Request": "true", "X-CSRFToken": stranger.cookies["csrftoken"].value},
    )

    assert_refused_for_csrf(response)
    assert state(browser.client) == before


@pytest.mark.parametrize("name", ENDPOINTS)
def test_it_accepts_the_same_post_with_the_cookies_token_in_the_header(users, name):
    browser = visit(name, users)
    before = state(browser.client)

    response = browser.client.post(
        browser.url,
        browser.data,
        headers={"X-CSRFToken": browser.client.cookies["csrftoken"].value},
    )

    assert response.status_code == 302
    assert state(browser.client) != before


@pytest.mark.parametrize("name", HTMX_ENDPOINTS)
def test_it_accepts_an_htmx_post_carrying_the_pages_hx_headers_token(users, name):
    browser = visit(name, users)
    before = state(browser.client)

    response = browser.client.post(
        browser.url,
        browser.data,
        headers={"HX-Request": "true", "X-CSRFToken": hx_headers_token(browser.page)},
    )

    assert response.status_code == 200
    assert state(browser.client) != before


def test_the_finding_pages_body_sends_the_token_with_every_htmx_request(users):
    browser = visit("tick", users)

    token = hx_headers_token(browser.page)

    assert re.fullmatch(r"[A-Za-z0-9]{64}", token)
    assert 'hx-post="/checklist/' in browser.page.content.decode()
