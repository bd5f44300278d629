"""Hypothesis over PUT /api/v1/findings/<code>/checklist/<key>: any body, header, content type or
size gives no 5xx; a refused request changes nothing, and an accepted one sets what it asked.

Each example runs in a savepoint that is rolled back and compares a digest of every table before
and after the request (tests/security/fuzzing.py).
"""

import json

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from findings.models import ApiTokenScope, ChecklistItem
from tests.api.conftest import raw_token
from tests.security.fuzzing import (
    HOSTILE,
    NASTY_STRINGS,
    TEXT,
    assert_no_server_error,
    audit_actions_since,
    changed,
    db_state,
    fuzz,
    rolled_back,
    weighted,
)

URL = "/api/v1/findings/SI-001/checklist/go-test-race"
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), HOSTILE
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
EVIDENCE = st.dictionaries(
    st.sampled_from(["url", "commit", "summary", "run"]),
    weighted(
        (3, st.sampled_from(["https://ci.example/runs/812", "3f2c9a1", "run #812", ""])),
        (2, HOSTILE),
        (1, ANY_JSON),
    ),
    max_size=4,
)
# Mostly the shape the endpoint takes, with hostile values, so examples get past its schema.
TICK_BODIES = st.fixed_dictionaries(
    {"checked": weighted((6, st.booleans()), (1, ANY_JSON))},
    optional={
        "version": weighted((3, st.integers(-2, 4)), (1, ANY_JSON)),
        "evidence": weighted((3, EVIDENCE), (1, ANY_JSON)),
        "extra": ANY_JSON,
    },
)
BODIES = weighted(
    (6, TICK_BODIES.map(json.dumps)),
    (2, ANY_JSON.map(json.dumps)),
    (1, st.sampled_from(NASTY_STRINGS)),
    (1, st.binary(max_size=64)),
    (1, st.sampled_from(["{" * 5000, json.dumps({"checked": True, "pad": "x" * 20_000})])),
)
CONTENT_TYPES = weighted(
    (6, st.just("application/json")),
    (
        2,
        st.sampled_from(
            [
                "application/json; charset=utf-8",
                "application/json; charset=latin-1",
                "APPLICATION/JSON",
                "text/plain",
                "multipart/form-data; boundary=zz",
                "application/x-www-form-urlencoded",
                "",
            ]
        ),
    ),
    (1, HOSTILE.filter(lambda value: "\n" not in value and "\r" not in value)),
)
CALLERS = ("tick token", "read token", "no credentials", "bad token", "hostile header")


def authorization(caller: str, tokens: dict, hostile: str) -> dict:
    if caller in ("tick token", "read token"):
        return {"Authorization": f"Bearer {tokens[caller]}"}
    if caller == "bad token":
        return {"Authorization": "Bearer dft_" + "x" * 40}
    if caller == "hostile header":
        return {"Authorization": hostile}
    return {}


@pytest.fixture
def tokens(settings, catalogue, ci_bot) -> dict:
    settings.API_TOKEN_RATE = "100000/min"
    return {
        "tick token": raw_token(ci_bot, name="fuzz-tick"),
        "read token": raw_token(ci_bot, ApiTokenScope.READ, name="fuzz-read"),
    }


@fuzz
@given(
    body=BODIES,
    content_type=CONTENT_TYPES,
    caller=weighted((4, st.just("tick token")), (1, st.sampled_from(CALLERS))),
    hostile_header=HOSTILE.filter(lambda value: "\n" not in value and "\r" not in value),
    start_ticked=st.booleans(),
)
def test_a_put_is_applied_exactly_or_refused_without_a_trace(
    client, tokens, reviewer, body, content_type, caller, hostile_header, start_ticked
):
    with rolled_back():
        item = ChecklistItem.objects.get(finding__code="SI-001", key="go-test-race")
        if start_ticked:
            ChecklistItem.objects.filter(pk=item.pk).update(
                checked=True, checked_at=timezone.now(), checked_by=reviewer, version=2
            )
        before = db_state()
        events = before["audit events"]

        response = client.generic(
            "PUT",
            URL,
            body,
            content_type=content_type,
            headers={
                **authorization(caller, tokens, hostile_header),
                "X-CSRFToken": hostile_header,
                "X-Request-Id": hostile_header,
            },
        )

        assert_no_server_error(response)
        assert "error" in response.json() or response.status_code == 200
        after = db_state()
        item.refresh_from_db()
        if response.status_code != 200:
            assert changed(before, after) == set(), response.content[:300]
            return
        assert caller == "tick token"
        asked = json.loads(body)["checked"]
        assert (item.checked, response.json()["checked"]) == (asked, asked)
        if asked == start_ticked:
            assert changed(before, after) == set()
        else:
            assert audit_actions_since(events) == [
                "checklist_item.ticked" if asked else "checklist_item.unticked"
            ]
