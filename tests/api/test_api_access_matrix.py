"""The API's matrix: every route × persona × method with a session, and × token scope.

The routes come from the URL resolver and their methods from the ninja routers, so an operation
added without a row fails `test_it_has_a_row_for_every_api_route`, and a method added to a route
without its answers fails `test_each_rows_methods_are_the_routers`.

Each route is one test that loads the catalogue once; each cell runs in a savepoint rolled back
afterwards, so every cell starts from the same data.
"""

import json
import re
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import Client
from django.urls import resolve
from ninja.utils import replace_path_param_notation

from findings.api.main import api
from findings.models import AuditEvent
from tests.api.conftest import bearer, raw_token
from tests.security.test_access_matrix import resolver_routes

API_PREFIX = "api/v1/"
PERSONAS = ("anonymous", "outsider", "viewer", "reviewer", "lead", "admin_user", "ci_bot")
TOKENS = ("read", "tick", "revoked", "expired")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TICK = json.dumps({"checked": True})
FINDING_CODE = re.compile(rb"\b(?:SI|BF|BL)-\d{3}\b")

# Answers of a read operation: a role reads, an account without one is refused, nobody
# authenticated is a 401; a token reads with either scope and is refused once unusable.
READ_SESSIONS = (401, 403, 200, 200, 200, 200, 200)
READ_TOKENS = (200, 200, 401, 401)


@dataclass(frozen=True)
class Row:
    """A route's sample URL and, per method, the answers per persona and per token; a method
    absent from both dicts is answered 405 by everyone.
    """

    url: str
    sessions: dict[str, tuple[int, ...]]
    tokens: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Routes outside the routers (the OpenAPI document, the root) take any method.
    any_method: bool = False


def read_only(url: str) -> Row:
    return Row(url, sessions={"GET": READ_SESSIONS}, tokens={"GET": READ_TOKENS})


EXPECTED: dict[str, Row] = {
    # The root exists so ninja can name its own paths; it answers 404, whatever the method.
    "api/v1/": Row(
        "/api/v1/",
        sessions=dict.fromkeys(METHODS, (404,) * 7),
        tokens=dict.fromkeys(METHODS, (404,) * 4),
        any_method=True,
    ),
    # The document describes the API, not its data: open to anyone, with any credentials.
    "api/v1/openapi.json": Row(
        "/api/v1/openapi.json",
        sessions=dict.fromkeys(METHODS, (200,) * 7),
        tokens=dict.fromkeys(METHODS, (200,) * 4),
        any_method=True,
    ),
    "api/v1/findings/": read_only("/api/v1/findings/"),
    "api/v1/findings/export.csv": read_only("/api/v1/findings/export.csv"),
    "api/v1/findings/<code>/": read_only("/api/v1/findings/SI-001/"),
    "api/v1/phases/": read_only("/api/v1/phases/"),
    "api/v1/phases/<code>/": read_only("/api/v1/phases/2A/"),
    "api/v1/audit/": read_only("/api/v1/audit/"),
    "api/v1/audit/export.csv": read_only("/api/v1/audit/export.csv"),
    # Whoever may tick ticks, the CI group included; a read token may not, whoever holds it.
    "api/v1/findings/<code>/checklist/<key>": Row(
        "/api/v1/findings/SI-001/checklist/go-test-race",
        sessions={"PUT": (401, 403, 403, 200, 200, 200, 200)},
        tokens={"PUT": (403, 200, 401, 401)},
    ),
}


def router_methods() -> dict[str, set[str]]:
    """Each operation's route, as the resolver spells it, with the methods ninja answers."""
    methods = {}
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            route = API_PREFIX + replace_path_param_notation(prefix + path).lstrip("/")
            methods[route] = {method for op in path_view.operations for method in op.methods}
    return methods


def expected(row: Row, method: str, who: str) -> int:
    if who in TOKENS:
        answers = row.tokens.get(method, (405,) * len(TOKENS))
        return dict(zip(TOKENS, answers, strict=True))[who]
    answers = row.sessions.get(method, (405,) * len(PERSONAS))
    return dict(zip(PERSONAS, answers, strict=True))[who]


# The table, checked without a database.


def test_it_has_a_row_for_every_api_route():
    routes = [route for route in resolver_routes() if route.startswith(API_PREFIX)]

    assert sorted(set(routes) - set(EXPECTED)) == [], "Add these API routes to EXPECTED."
    assert sorted(set(EXPECTED) - set(routes)) == [], "These rows' routes are gone."


def test_each_rows_methods_are_the_routers():
    answered = {
        route: set(row.sessions) | set(row.tokens)
        for route, row in EXPECTED.items()
        if not row.any_method
    }

    assert answered == router_methods()


@pytest.mark.parametrize("route", EXPECTED)
def test_each_rows_sample_url_resolves_to_its_route(route):
    assert resolve(EXPECTED[route].url).route == route


# The cells.


@pytest.fixture
def callers(
    settings, catalogue, outsider, viewer, reviewer, lead, admin_user, ci_bot, request
) -> dict:
    """A client per persona (signed in, or not) and per token scope (with a real token)."""
    settings.API_TOKEN_RATE = "100000/min"
    users = {"outsider": outsider, "viewer": viewer, "reviewer": reviewer, "lead": lead}
    users |= {"admin_user": admin_user, "ci_bot": ci_bot}
    clients = {"anonymous": Client()}
    for persona, user in users.items():
        clients[persona] = Client()
        clients[persona].force_login(user)
    tokens = {
        "read": request.getfixturevalue("read_only_token"),
        "tick": raw_token(ci_bot, name="ci-matrix"),
        "revoked": request.getfixturevalue("revoked_token"),
        "expired": request.getfixturevalue("expired_token"),
    }
    for scope, raw in tokens.items():
        clients[scope] = Client(headers=bearer(raw))
    return clients


def cell(client: Client, row: Row, method: str, who: str) -> None:
    with transaction.atomic():
        events = AuditEvent.objects.count()

        response = client.generic(method, row.url, TICK, content_type="application/json")

        assert response.status_code == expected(row, method, who)
        body = response.getvalue()
        if response.status_code in (401, 403):
            assert FINDING_CODE.findall(body) == [], "finding data shown to a refused caller"
            assert json.loads(body)["error"], "a refusal not in the API's error shape"
        if response.status_code >= 400:
            assert AuditEvent.objects.count() == events, "a refused request changed something"
        transaction.set_rollback(True)


@pytest.mark.parametrize("route", EXPECTED)
def test_each_caller_gets_the_expected_answer(callers, subtests, route):
    row = EXPECTED[route]
    for method in METHODS:
        for who in (*PERSONAS, *TOKENS):
            with subtests.test(msg=f"{method} {who}"):
                cell(callers[who], row, method, who)
