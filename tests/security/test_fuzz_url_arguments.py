"""Hypothesis over URL arguments: codes and ids that are not ours give 404, never a 5xx.

Each example runs in a savepoint that is rolled back and compares a digest of every table before
and after the request (tests/security/fuzzing.py): a refusal changes nothing, a success does
exactly what it asked.
"""

import re
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from findings.models import (
    ChecklistItem,
    Finding,
    TacticalDocument,
)
from tests.security.fuzzing import (
    TEXT,
    assert_no_server_error,
    db_state,
    fuzz,
    rolled_back,
    send,
)

NASTY_PATH_ARGUMENTS = [
    "..",
    "../",
    "%00",
    "\x00",
    "SI-001\x00",
    "SI-001'--",
    "SI-001%",
    "si-001",
    "SI-001 ",
    "SI-0001",
    "2a",
    "2A\x00",
    "ǅ",
    "ß",
    "\u202e2A",
    "🙂",
    "x" * 10_000,
    "README.md",
    "README.md\x00",
    "SI-001_TACTICAL_PLAN.md",
    "..%2F..%2Fetc%2Fpasswd",
    "-1",
    "0",
    "1",
    "00001",
    "0x10",
    "1.0",
    "99999999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
]
PATH_ARGUMENT = st.one_of(
    st.sampled_from(NASTY_PATH_ARGUMENTS),
    TEXT.filter(lambda text: text not in ("", ".")),
    st.integers().map(str),
)
ROUTES = {
    # route: (method, valid body)
    "/findings/{}/": ("get", {}),
    "/findings/{}/status/": ("post", {"target": ["in_progress"], "version": ["1"]}),
    "/phases/{}/": ("get", {}),
    "/phases/{}/signoff/": ("post", {"comment": ["Checked."]}),
    "/phases/{}/signoff/revoke/": ("post", {"reason": ["Wrong."]}),
    "/checklist/{}/": ("post", {"checked": ["true"], "version": ["1"]}),
    "/documents/{}/": ("get", {}),
}


def _names_an_object(route: str, argument: str) -> bool:
    if route.startswith("/findings/"):
        return Finding.objects.filter(code=argument).exists() if "\x00" not in argument else False
    if route.startswith("/phases/"):
        return argument.upper() in {"2A", "2B", "2C", "2D"}
    if route.startswith("/documents/"):
        names = set(TacticalDocument.objects.values_list("file_name", flat=True)) | {"README.md"}
        return argument in names
    return bool(re.fullmatch(r"[0-9]+", argument)) and (
        int(argument) in set(ChecklistItem.objects.values_list("pk", flat=True))
    )


@pytest.mark.parametrize("route", ROUTES)
@fuzz
@given(argument=PATH_ARGUMENT)
def test_a_url_argument_that_names_nothing_gives_404_and_changes_nothing(
    admin_client, catalogue, route, argument
):
    method, body = ROUTES[route]
    # Percent-encoded as a browser would send it; Django decodes it before routing.
    url = route.format(quote(argument, safe=""))
    with rolled_back():
        before = db_state()

        if method == "get":
            response = admin_client.get(url)
        else:
            response = send(admin_client, url, body, "multipart", htmx=False)

        assert_no_server_error(response)
        if not _names_an_object(route, argument):
            assert response.status_code == 404, url[:200]
            assert db_state() == before
