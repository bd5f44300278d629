"""Hypothesis over the query strings of pages people filter, sort and page: 200 or 400, never 5xx.

The findings table and the audit log read their filters through django-filter forms, so a value
the form rejects gives 400 with the errors shown in the table's region; every other page ignores
its query string. Keys are the pages' own, unknown ones and repeated ones; values are valid
choices, dates at the edges of the calendar, NUL bytes, 100,000 characters and broken
percent-encoding; with and without the HTMX headers. A GET never writes to the database.
"""

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from findings.models import Finding
from tests.security.fuzzing import (
    HOSTILE,
    TEXT,
    assert_no_server_error,
    db_state,
    fuzz,
    rolled_back,
    weighted,
)

DATES = [
    "2024-01-31",
    "2024-02-29",
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
    "0000-00-00",
    "10000-01-01",
    "-2024-01-01",
    "1970-01-01T00:00:00",
    "٢٠٢٤-٠١-٠١",
    "01/31/2024",
    "2024-1-1",
]
SORTS = ["code", "-code", "title", "-title", "phase", "-phase", "priority", "-priority", "status",
         "-status", "owner", "-owner", "checklist", "-checklist", "effort", "-effort",
         "created_at", "-created_at", "actor_username", "-actor_username", "action", "-action",
         "object_repr", "permission", "-request_id", "id", "-", "--code", "code,title"]  # fmt: skip
PAGES = ["1", "2", "0", "-1", "999999", "last", "99999999999999999999999", "1.5", ""]
# Each page's own parameters with values its form accepts, and where it has no form, none.
KEYS = {
    "/findings/": {
        "q": ["SI", "si-00", "Transaction", ""],
        "phase": ["2A", "2D", ""],
        "priority": ["CRITICAL", "LOW", ""],
        "priority_unconfirmed": ["true", "false", ""],
        "status": ["planned", "completed", ""],
        "category": ["SI", "BL", ""],
        "owner": ["reviewer", "null", ""],
        "ready": ["true", "false", ""],
        "sort": SORTS,
        "page": PAGES,
        "per_page": ["10", "100000", "-1", "x"],
    },
    "/audit/": {
        "action": ["finding.created", "phase.created", ""],
        "actor": ["system", "admin", "SYSTEM", ""],
        "finding": ["SI-001", "si", ""],
        "since": DATES,
        "until": DATES,
        "sort": SORTS,
        "page": PAGES,
        "per_page": ["10", "100000", "-1", "x"],
    },
    "/documents/": {},
    "/": {},
    "/findings/SI-001/": {},
    "/phases/2A/": {},
}
# Read by django-tables2 rather than the filter form: never a reason to refuse the page.
TABLE_PARAMETERS = {"sort", "page", "per_page"}
# The dates above that exist; the others the date filters may refuse.
REAL_DATES = {"2024-01-31", "2024-02-29", "0001-01-01", "9999-12-31"}
FILTERED_PAGES = {"/findings/", "/audit/"}
BROKEN_QUERY_TAILS = ["", "", "", "&%zz=1", "&q=%", "&q=%FF%FE", "&&&==&", "&" + "q=x&" * 300]


def query(url: str) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Pairs of key and value: the page's keys, unknown ones, repeated ones, in any order."""
    own = KEYS[url]
    common = st.sampled_from(["page", "sort", "q", "since"])
    key = weighted((3, st.sampled_from(sorted(own))), (1, TEXT), (1, common)) if own else TEXT

    def pair(name: str) -> st.SearchStrategy[tuple[str, str]]:
        valid = own.get(name)
        value = weighted((2, st.sampled_from(valid)), (1, HOSTILE)) if valid else HOSTILE
        return value.map(lambda v: (name, v))

    return st.lists(key.flatmap(pair), max_size=6)


def must_accept(url: str, pairs: list[tuple[str, str]]) -> bool:
    """Whether every filter the page has gets a value its form accepts (the last one sent)."""
    if url not in FILTERED_PAGES:
        return True
    own = KEYS[url]
    for name, value in dict(pairs).items():
        if name in TABLE_PARAMETERS or name not in own:
            continue
        if value not in (REAL_DATES if name in ("since", "until") else own[name]):
            return False
    return True


@pytest.fixture
def viewer_client(client, viewer, reviewer, catalogue):
    # An owner, so the owner filter has a choice besides "Nobody".
    Finding.objects.filter(code="SI-001").update(owner=reviewer)
    client.force_login(viewer)
    return client


@pytest.mark.parametrize("url", KEYS)
@fuzz
@given(
    pairs=st.data(),
    tail=st.sampled_from(BROKEN_QUERY_TAILS),
    htmx=st.sampled_from(["", "request", "history restore"]),
)
def test_a_query_string_gives_the_page_or_400_and_never_writes(
    viewer_client, url, pairs, tail, htmx
):
    sent = pairs.draw(query(url), label="pairs")
    headers = {}
    if htmx:
        headers["HX-Request"] = "true"
    if htmx == "history restore":
        headers["HX-History-Restore-Request"] = "true"
    with rolled_back():
        before = db_state()

        response = viewer_client.get(f"{url}?{urlencode(sent)}{tail}", headers=headers)

        assert_no_server_error(response)
        assert response.status_code in (200, 400), (url, sent, tail)
        assert db_state() == before
        if response.status_code == 400:
            assert url in FILTERED_PAGES, "only the filtered pages refuse a query string"
            assert b'role="alert"' in response.content
        if not tail.strip("&") and must_accept(url, sent):
            assert response.status_code == 200, (url, sent)


@pytest.mark.parametrize(
    "query_string",
    ["until=9999-12-31", "since=9999-12-31", "since=0001-01-01", "until=0001-01-01"],
)
def test_the_audit_log_takes_the_first_and_last_day_of_the_calendar(viewer_client, query_string):
    response = viewer_client.get(f"/audit/?{query_string}")

    assert response.status_code in (200, 400)
