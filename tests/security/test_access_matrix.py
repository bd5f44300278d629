"""The role × endpoint matrix: every route the URL resolver knows × each persona × GET and POST.

The routes come from the resolver, so a view added without a row in EXPECTED fails
`test_it_has_a_row_for_every_route`, and a row whose route is gone fails
`test_it_has_no_row_for_a_route_that_is_gone`. Everything under admin/ is one family, "staff
only", tested through a sample of its pages.

Loading the catalogue takes most of a second, so each route is one test that loads it once, and
each cell (persona × method) is a subtest that runs inside a savepoint rolled back afterwards:
every cell starts from the same data, whatever the cell before it changed.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve

from findings.export.snapshot import snapshot_load
from findings.export.tree import zip_stream
from findings.models import ApiToken, AuditEvent, ChecklistItem, Finding, Phase, Status
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_set
from findings.services.signoffs import content_fingerprint, phase_content, signoff_sign
from findings.services.status import finding_status_set
from tests.admin_forms import form_data
from tests.conftest import PASSWORD

PERSONAS = ("anonymous", "outsider", "viewer", "reviewer", "lead", "admin_user")
METHODS = ("GET", "POST")
ADMIN_FAMILY = "admin/"
NEW_PASSWORD = "a different passphrase for the matrix"
# Every finding code has this shape; a refused or anonymous response must show none of them.
FINDING_CODE = re.compile(rb"\b(?:SI|BF|BL)-\d{3}\b")


@dataclass(frozen=True)
class Redirect:
    """A 302 to `location`, in which {url} is the requested URL and {item} the sample item."""

    location: str
    status: int = 302


LOGIN = Redirect("/accounts/login/?next={url}")
ADMIN_LOGIN = Redirect("/admin/login/?next={url}")
Expected = int | Redirect


@dataclass
class Sample:
    """The objects whose ids fill a route's converters, and the personas, for one test."""

    item: int
    finding: int
    users: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One route: a sample URL, the expected answer per persona (in PERSONAS order) per method.

    `data` builds a valid POST body inside each cell, so an allowed POST is judged on its merits
    and a refused one is refused for the role, not for bad input. `setup` runs once per test.
    """

    url: str
    get: tuple[Expected, ...]
    post: tuple[Expected, ...]
    data: Callable[[Sample], dict] | None = None
    setup: Callable[[Sample], None] | None = None


def staff_only(
    url: str,
    *,
    anonymous: Redirect,
    admin_post: Expected = 200,
    data: Callable[[Sample], dict] | None = None,
) -> Row:
    """The admin family's rule: staff only; everyone else is sent to a login page.

    Django's AdminSite sends anonymous users of its own pages to the admin's login, while
    LoginRequiredMiddleware catches anonymous requests for ModelAdmin pages first and sends them
    to settings.LOGIN_URL: `anonymous` says which.
    """
    refused = (ADMIN_LOGIN,) * 4
    return Row(
        url, get=(anonymous, *refused, 200), post=(anonymous, *refused, admin_post), data=data
    )


def tick_data(sample: Sample) -> dict:
    # As the page posts once a signoff lead has accepted that the tick bars them from signing 2A.
    return {
        "checked": "true",
        "version": ChecklistItem.objects.get(pk=sample.item).version,
        "acknowledged_signing_bar": "1",
    }


def exported_zip_data(sample: Sample) -> dict:
    archive = b"".join(zip_stream(snapshot_load()))
    return {"archive": SimpleUploadedFile("tactical_plans.zip", archive)}


def status_data(sample: Sample) -> dict:
    version = Finding.objects.get(pk=sample.finding).version
    return {"target": Status.IN_PROGRESS, "version": version}


def make_2a_ready(sample: Sample) -> None:
    """Tick every 2A item and move every 2A finding to done, as the reviewer, through services."""
    context = ActionContext(actor=sample.users["reviewer"], request_id="matrix-setup")
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


def reviewer_token(sample: Sample) -> None:
    # The row's URL names the sample item's id, so the token takes it as its own.
    ApiToken.objects.create(
        pk=sample.item,
        user=sample.users["reviewer"],
        name="matrix",
        prefix="matrixab",
        digest="0" * 64,
        scope="read",
    )


def fingerprint_2a() -> str:
    return content_fingerprint(phase_content(Phase.objects.get(code="2A").pk))


def sign_2a(sample: Sample) -> None:
    make_2a_ready(sample)
    context = ActionContext(actor=sample.users["lead"], request_id="matrix-setup")
    signoff_sign(
        phase_id=Phase.objects.get(code="2A").pk,
        expected_fingerprint=fingerprint_2a(),
        comment="Checked for the matrix.",
        context=context,
    )


def admin_change_data(sample: Sample) -> dict:
    """The finding's admin form as a browser would submit it, with a new title."""
    browser = Client()
    browser.force_login(sample.users["admin_user"])
    page = browser.get(f"/admin/findings/finding/{sample.finding}/change/")
    return {**form_data(page.content.decode()), "title": "Retitled through the admin"}


def login_data(sample: Sample) -> dict:
    return {"username": "viewer", "password": PASSWORD}


def password_change_data(sample: Sample) -> dict:
    return {
        "old_password": PASSWORD,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }


# Columns: anonymous, outsider, viewer, reviewer, lead, admin_user.
EXPECTED: dict[str, Row] = {
    # Staff only, sampled: the index, the findings' list and change form, the audit log, users.
    "admin/": staff_only("/admin/", anonymous=ADMIN_LOGIN),
    "admin/findings/finding/": staff_only("/admin/findings/finding/", anonymous=LOGIN),
    "admin/findings/finding/<path:object_id>/change/": staff_only(
        "/admin/findings/finding/{finding}/change/",
        anonymous=LOGIN,
        admin_post=Redirect("/admin/findings/finding/"),
        data=admin_change_data,
    ),
    "admin/findings/auditevent/": staff_only("/admin/findings/auditevent/", anonymous=LOGIN),
    "admin/auth/user/": staff_only("/admin/auth/user/", anonymous=LOGIN),
    # The admin's login page is open; it refuses a non-staff account's correct password.
    "admin/login/": Row(
        "/admin/login/",
        get=(200, 200, 200, 200, 200, Redirect("/admin/")),
        post=(200,) * 6,
        data=login_data,
    ),
    # Logging in is open; password reset is switched off until mail is configured.
    "accounts/login/": Row(
        "/accounts/login/", get=(200,) * 6, post=(Redirect("/"),) * 6, data=login_data
    ),
    "accounts/logout/": Row(
        "/accounts/logout/",
        get=(LOGIN, 405, 405, 405, 405, 405),
        post=(LOGIN, *(Redirect("/accounts/login/"),) * 5),
    ),
    "accounts/password_change/": Row(
        "/accounts/password_change/",
        get=(LOGIN, 200, 200, 200, 200, 200),
        post=(LOGIN, *(Redirect("/accounts/password_change/done/"),) * 5),
        data=password_change_data,
    ),
    "accounts/password_change/done/": Row(
        "/accounts/password_change/done/",
        get=(LOGIN, 200, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    # Probes: open to anyone, GET only.
    "healthz": Row("/healthz", get=(200,) * 6, post=(405,) * 6),
    "readyz": Row("/readyz", get=(200,) * 6, post=(405,) * 6),
    # The tracker's pages: any role reads, an account without a role is refused.
    "": Row(
        "/",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    # Class views check the permission before the method, so the outsider's POST is a 403.
    "findings/": Row(
        "/findings/",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 403, 405, 405, 405, 405),
    ),
    "audit/": Row(
        "/audit/",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 403, 405, 405, 405, 405),
    ),
    # The tables' rows as CSV: whoever reads the table downloads it.
    "findings/export.csv": Row(
        "/findings/export.csv",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    "audit/export.csv": Row(
        "/audit/export.csv",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    "findings/<finding:code>/": Row(
        "/findings/SI-001/",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    "findings/<finding:code>/status/": Row(
        "/findings/SI-001/status/",
        get=(LOGIN, 405, 405, 405, 405, 405),
        post=(LOGIN, 403, 403, *(Redirect("/findings/SI-001/"),) * 3),
        data=status_data,
    ),
    # Writing a document section needs edit_content; its preview changes nothing but needs it
    # too, and the section as the page shows it is for every role.
    "findings/<finding:code>/edit/<slug:field>/": Row(
        "/findings/SI-001/edit/root_cause/",
        get=(LOGIN, 403, 403, 200, 200, 200),
        post=(LOGIN, 403, 403, *(Redirect("/findings/SI-001/#content-section-root_cause"),) * 3),
        data=lambda sample: {"text": "Reads, then writes without a version check.", "version": 1},
    ),
    "findings/<finding:code>/edit/<slug:field>/preview/": Row(
        "/findings/SI-001/edit/root_cause/preview/",
        get=(LOGIN, 405, 405, 405, 405, 405),
        post=(LOGIN, 403, 403, 200, 200, 200),
        data=lambda sample: {"text": "Reads, then writes without a version check."},
    ),
    "findings/<finding:code>/sections/<slug:field>/": Row(
        "/findings/SI-001/sections/root_cause/",
        get=(LOGIN, 403, *(Redirect("/findings/SI-001/#content-section-root_cause"),) * 4),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    "checklist/<row:item_id>/": Row(
        "/checklist/{item}/",
        get=(LOGIN, 405, 405, 405, 405, 405),
        post=(LOGIN, 403, 403, *(Redirect("/findings/SI-001/#item-{item}"),) * 3),
        data=tick_data,
    ),
    "phases/<phase:code>/": Row(
        "/phases/2A/",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    # 2A is made ready by the reviewer, so the lead and the admin are independent of its work.
    # GET is the confirmation of what a signoff approves; POST records the signoff.
    "phases/<phase:code>/signoff/": Row(
        "/phases/2A/signoff/",
        get=(LOGIN, 403, 403, 403, 200, 200),
        post=(LOGIN, 403, 403, 403, Redirect("/phases/2A/"), Redirect("/phases/2A/")),
        data=lambda sample: {
            "comment": "Ran every 2A migration and its rollback.",
            "fingerprint": fingerprint_2a(),
        },
        setup=make_2a_ready,
    ),
    "phases/<phase:code>/signoff/revoke/": Row(
        "/phases/2A/signoff/revoke/",
        get=(LOGIN, 405, 405, 405, 405, 405),
        post=(LOGIN, 403, 403, 403, Redirect("/phases/2A/"), Redirect("/phases/2A/")),
        data=lambda sample: {"reason": "The migration locks the accounts table."},
        setup=sign_2a,
    ),
    # Whoever may tick may ask the eligible signers of a ready phase to sign it off.
    "phases/<phase:code>/signoff/request/": Row(
        "/phases/2A/signoff/request/",
        get=(LOGIN, 405, 405, 405, 405, 405),
        post=(LOGIN, 403, 403, *(Redirect("/phases/2A/"),) * 3),
        setup=make_2a_ready,
    ),
    # The exported documents show every finding's plan and checklist, so they need a role too.
    "documents/": Row(
        "/documents/",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    # Importing edited documents writes their sections: edit_content. The upload only previews;
    # applying needs the previewed zip waiting in the session, which a bare POST lacks.
    "documents/import/": Row(
        "/documents/import/",
        get=(LOGIN, 403, 403, 200, 200, 200),
        post=(LOGIN, 403, 403, 200, 200, 200),
        data=exported_zip_data,
    ),
    "documents/import/apply/": Row(
        "/documents/import/apply/",
        get=(LOGIN, 405, 405, 405, 405, 405),
        post=(LOGIN, 403, 403, 409, 409, 409),
        data=lambda sample: {"digest": "0" * 64},
    ),
    "documents/<document:file_name>/": Row(
        "/documents/SI-001_TACTICAL_PLAN.md/",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    "export/tactical_plans.zip": Row(
        "/export/tactical_plans.zip",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 405, 405, 405, 405, 405),
    ),
    # Each role chooses its own notifications; an account without a role receives none.
    "settings/": Row(
        "/settings/",
        get=(LOGIN, 403, 200, 200, 200, 200),
        post=(LOGIN, 403, *(Redirect("/settings/"),) * 4),
        data=lambda sample: {"kinds": ["signed"]},
    ),
    # Whoever may tick makes their own API tokens; a POST shows the new token once, so no redirect.
    "settings/tokens/": Row(
        "/settings/tokens/",
        get=(LOGIN, 403, 403, 200, 200, 200),
        post=(LOGIN, 403, 403, 201, 201, 201),
        data=lambda sample: {"name": "matrix", "scope": "read"},
    ),
    # The sample token is the reviewer's: someone else's token is unknown to a lead, and the admin
    # may revoke every token.
    "settings/tokens/<row:token_id>/revoke/": Row(
        "/settings/tokens/{item}/revoke/",
        get=(LOGIN, 405, 405, 405, 405, 405),
        post=(
            LOGIN,
            403,
            403,
            Redirect("/settings/tokens/"),
            404,
            Redirect("/settings/tokens/"),
        ),
        setup=reviewer_token,
    ),
    # The API, with a session here (tests/api/test_api_access_matrix.py adds every method and
    # tokens): a caller without a session or token gets a JSON 401, never a login page.
    "api/v1/": Row("/api/v1/", get=(404,) * 6, post=(404,) * 6),
    "api/v1/openapi.json": Row("/api/v1/openapi.json", get=(200,) * 6, post=(200,) * 6),
    "api/v1/findings/": Row(
        "/api/v1/findings/", get=(401, 403, 200, 200, 200, 200), post=(405,) * 6
    ),
    "api/v1/findings/export.csv": Row(
        "/api/v1/findings/export.csv", get=(401, 403, 200, 200, 200, 200), post=(405,) * 6
    ),
    "api/v1/findings/<code>/": Row(
        "/api/v1/findings/SI-001/", get=(401, 403, 200, 200, 200, 200), post=(405,) * 6
    ),
    # PUT only; the tick itself is in the API's matrix.
    "api/v1/findings/<code>/checklist/<key>": Row(
        "/api/v1/findings/SI-001/checklist/go-test-race", get=(405,) * 6, post=(405,) * 6
    ),
    "api/v1/phases/": Row("/api/v1/phases/", get=(401, 403, 200, 200, 200, 200), post=(405,) * 6),
    "api/v1/phases/<code>/": Row(
        "/api/v1/phases/2A/", get=(401, 403, 200, 200, 200, 200), post=(405,) * 6
    ),
    "api/v1/audit/": Row("/api/v1/audit/", get=(401, 403, 200, 200, 200, 200), post=(405,) * 6),
    "api/v1/audit/export.csv": Row(
        "/api/v1/audit/export.csv", get=(401, 403, 200, 200, 200, 200), post=(405,) * 6
    ),
}
# Routes an anonymous visitor may reach; every other route sends them to a login page.
PUBLIC = {
    "admin/login/",
    "accounts/login/",
    "healthz",
    "readyz",
    # The OpenAPI document describes the API, not its data; the API's root is a 404.
    "api/v1/openapi.json",
    "api/v1/",
}
# A script follows no login page: the API answers a caller without credentials 401 (or 405).
API_ROUTES = {route for route in EXPECTED if route.startswith("api/")} - PUBLIC
# The tracker's own pages and actions, which an account without a role may not use.
APP_ROUTES = [
    route
    for route in EXPECTED
    if not route.startswith(("admin/", "accounts/")) and route not in PUBLIC
]
STATE_CHANGES = {
    "findings/<finding:code>/status/": "reviewer",
    "checklist/<row:item_id>/": "reviewer",
    "findings/<finding:code>/edit/<slug:field>/": "reviewer",
    "phases/<phase:code>/signoff/": "lead",
    "phases/<phase:code>/signoff/revoke/": "lead",
    "phases/<phase:code>/signoff/request/": "reviewer",
}


def _join(prefix: str, part: str) -> str:
    # As Django's resolver joins them: an included regex's leading ^ is not part of the route.
    return prefix + (part[1:] if prefix and part.startswith("^") else part)


def resolver_routes(patterns=None, prefix: str = "") -> list[str]:
    """Every route the project answers, as the pattern strings of the URLconf, includes opened."""
    routes = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = _join(prefix, str(entry.pattern))
        if isinstance(entry, URLResolver):
            routes += resolver_routes(entry.url_patterns, route)
        else:
            routes.append(route)
    return routes


def sample_url(route: str, sample: Sample) -> str:
    return EXPECTED[route].url.format(item=sample.item, finding=sample.finding)


# The table: checked without a database, so an edit that weakens it fails here first.


def test_it_walks_the_resolver_into_the_includes():
    routes = resolver_routes()

    assert {"admin/", "accounts/login/", "findings/<finding:code>/", "healthz"} <= set(routes)
    assert [route for route in set(routes) if routes.count(route) > 1] == []


def test_it_has_a_row_for_every_route():
    missing = [
        route
        for route in resolver_routes()
        if route not in EXPECTED and not route.startswith(ADMIN_FAMILY)
    ]

    assert missing == [], "Add these routes to EXPECTED, with the answer each persona gets."


def test_it_has_no_row_for_a_route_that_is_gone():
    assert sorted(set(EXPECTED) - set(resolver_routes())) == []


@pytest.mark.parametrize("route", EXPECTED)
def test_each_rows_sample_url_resolves_to_its_route(route):
    url = EXPECTED[route].url.format(item=1, finding=1)

    assert resolve(url).route == route


@pytest.mark.parametrize("route", EXPECTED)
def test_each_row_names_an_answer_for_every_persona(route):
    row = EXPECTED[route]

    assert len(row.get) == len(row.post) == len(PERSONAS)


@pytest.mark.parametrize("route", sorted(set(EXPECTED) - PUBLIC - API_ROUTES))
def test_the_table_sends_anonymous_visitors_of_every_private_route_to_a_login_page(route):
    row = EXPECTED[route]

    assert row.get[0] in (LOGIN, ADMIN_LOGIN)
    assert row.post[0] in (LOGIN, ADMIN_LOGIN)


@pytest.mark.parametrize("route", sorted(API_ROUTES))
def test_the_table_refuses_anonymous_callers_of_every_api_route_with_401(route):
    row = EXPECTED[route]

    assert row.get[0] in (401, 405)
    assert row.post[0] in (401, 405)


@pytest.mark.parametrize("route", APP_ROUTES)
def test_the_table_refuses_an_account_without_a_role_every_app_route(route):
    row = EXPECTED[route]

    assert row.get[1] in (403, 405)
    assert row.post[1] in (403, 405)


@pytest.mark.parametrize(("route", "lowest_role"), STATE_CHANGES.items())
def test_the_table_lets_no_role_below_the_one_needed_change_anything(route, lowest_role):
    below = PERSONAS[: PERSONAS.index(lowest_role)]

    for persona, expected in zip(PERSONAS, EXPECTED[route].post, strict=True):
        if persona in below:
            assert expected in (403, LOGIN), persona
        else:
            assert isinstance(expected, Redirect) and expected != LOGIN, persona


# The cells: each route's sample URL requested by every persona with GET and POST.


@pytest.fixture
def sample(catalogue, outsider, viewer, reviewer, lead, admin_user) -> Sample:
    item = ChecklistItem.objects.filter(finding__code="SI-001").order_by("position").first()
    users = {
        "anonymous": None,
        "outsider": outsider,
        "viewer": viewer,
        "reviewer": reviewer,
        "lead": lead,
        "admin_user": admin_user,
    }
    return Sample(item=item.pk, finding=item.finding_id, users=users)


def cell(sample: Sample, route: str, method: str, persona: str) -> None:
    """Request the route's sample URL as `persona`, assert the expected answer, and roll back."""
    row = EXPECTED[route]
    expected = dict(zip(PERSONAS, row.get if method == "GET" else row.post, strict=True))[persona]
    url = sample_url(route, sample)
    with transaction.atomic():
        client = Client()
        if sample.users[persona] is not None:
            client.force_login(sample.users[persona])
        data = row.data(sample) if method == "POST" and row.data else {}
        events = AuditEvent.objects.count()

        response = client.get(url) if method == "GET" else client.post(url, data)

        body = response.getvalue()
        if isinstance(expected, Redirect):
            location = expected.location.format(url=url, item=sample.item)
            assert (response.status_code, response.get("Location")) == (302, location)
        else:
            assert response.status_code == expected
        # The not-found page names SI-001 as an example of what a finding's code looks like.
        if persona in ("anonymous", "outsider") and response.status_code != 404:
            assert FINDING_CODE.findall(body) == [], "finding data shown without a role"
        if expected in (LOGIN, ADMIN_LOGIN) or (isinstance(expected, int) and expected >= 400):
            assert AuditEvent.objects.count() == events, "a refused request changed something"
        transaction.set_rollback(True)


@pytest.mark.parametrize("route", EXPECTED)
def test_each_persona_gets_the_expected_answer(sample, subtests, route):
    if EXPECTED[route].setup:
        EXPECTED[route].setup(sample)
    for method in METHODS:
        for persona in PERSONAS:
            with subtests.test(msg=f"{method} {persona}"):
                cell(sample, route, method, persona)


# Public routes: what they show, and what they must not.


def test_the_probes_answer_anyone_with_a_constant_body(client, db):
    healthz, readyz = client.get("/healthz"), client.get("/readyz")

    assert (healthz.status_code, healthz.content) == (200, b"ok\n")
    assert (readyz.status_code, readyz.content) == (200, b"ready\n")
    assert healthz["Content-Type"] == readyz["Content-Type"] == "text/plain"
