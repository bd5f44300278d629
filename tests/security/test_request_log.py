"""The request log: an id for every request, sent back in X-Request-ID, and one JSON line each."""

import json
import logging
import re

import pytest
from pythonjsonlogger.json import JsonFormatter

from tests.database_faults import database_failing

FRESH_ID = re.compile(r"^[0-9a-f]{32}$")

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_log(caplog):
    """The lines the request log writes, whatever level the environment's LOG_LEVEL asks for."""
    caplog.set_level(logging.INFO, logger="domainflow.requests")

    def lines() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name == "domainflow.requests"]

    return lines


def configured_formatter() -> logging.Formatter:
    """The formatter LOGGING put on the root handler, which is what production writes through."""
    formatters = [
        handler.formatter
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, JsonFormatter)
    ]
    assert len(formatters) == 1, "LOGGING should write through exactly one JsonFormatter"
    return formatters[0]


def test_it_logs_one_line_per_request(client, request_log):
    client.get("/healthz")
    client.get("/readyz")

    assert [line.path for line in request_log()] == ["/healthz", "/readyz"]


def test_it_logs_what_was_asked_and_how_it_went(client, request_log):
    response = client.get("/healthz", REMOTE_ADDR="203.0.113.7")

    [line] = request_log()
    assert line.request_id == response["X-Request-ID"]
    assert (line.method, line.path, line.status) == ("GET", "/healthz", 200)
    assert line.user == ""
    assert line.ip == "203.0.113.7"
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    assert line.getMessage() == "GET /healthz 200"


def test_it_logs_the_status_the_client_got_not_the_one_the_view_meant(client, request_log):
    client.post("/healthz")

    [line] = request_log()
    assert (line.method, line.status) == ("POST", 405)


def test_it_logs_who_made_the_request(viewer_client, request_log):
    viewer_client.get("/findings/SI-001/")

    [line] = request_log()
    assert (line.user, line.status) == ("viewer", 200)


def test_it_logs_an_anonymous_request_with_an_empty_user(client, catalogue, request_log):
    client.get("/findings/SI-001/")

    [line] = request_log()
    assert (line.user, line.status) == ("", 302)


def test_it_writes_the_line_as_json_carrying_the_request_id(client, request_log):
    response = client.get("/healthz")

    entry = json.loads(configured_formatter().format(request_log()[0]))

    assert entry["request_id"] == response["X-Request-ID"]
    assert entry["logger"] == "domainflow.requests"
    assert entry["level"] == "INFO"
    assert entry["message"] == "GET /healthz 200"
    assert {key: entry[key] for key in ["method", "path", "status", "user", "ip"]} == {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "user": "",
        "ip": "127.0.0.1",
    }
    assert isinstance(entry["duration_ms"], float)


def test_it_gives_each_request_a_fresh_id(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert FRESH_ID.match(first) and FRESH_ID.match(second)
    assert first != second


@pytest.mark.parametrize(
    "incoming",
    ["lb-7f3a9c2e", "req.1234_abcd-EF", "a" * 64, "12345678"],
)
def test_it_keeps_an_acceptable_id_from_the_proxy(client, request_log, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert response["X-Request-ID"] == incoming
    assert request_log()[0].request_id == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "lb-7f3a9c2e\nforged log line",
        "lb-7f3a9c2e\n",
        "lb-7f3a9c2e\r\nX-Injected: 1",
        "a" * 65,
        "has spaces in it",
        "1234567",
        "<script>alert(1)</script>",
        "caf\u00e9-1234567",
    ],
)
def test_it_replaces_an_unacceptable_id_with_a_fresh_one(client, request_log, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert FRESH_ID.match(response["X-Request-ID"])
    assert request_log()[0].request_id == response["X-Request-ID"]


def test_it_logs_and_names_a_request_the_database_failed(viewer_client, request_log):
    viewer_client.raise_request_exception = False

    # Every statement fails, so the first to go is reading the logged-in user's session.
    with database_failing():
        response = viewer_client.get("/findings/SI-001/")

    assert response.status_code == 503
    assert FRESH_ID.match(response["X-Request-ID"])
    [line] = request_log()
    assert (line.request_id, line.path, line.status) == (
        response["X-Request-ID"],
        "/findings/SI-001/",
        503,
    )
    # The user could not be read; the line says nobody rather than not being written.
    assert line.user == ""
