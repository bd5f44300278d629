"""The client's address behind a reverse proxy, for login throttling and the audit trail.

X-Forwarded-For counts only when the connection comes from a proxy in TRUSTED_PROXIES.
"""

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from domainflow.settings import envnetworks
from findings.client_address import client_ip
from findings.models import AuditEvent
from findings.services.audit import ActionContext
from tests.conftest import PASSWORD

PROXY, OTHER_PROXY = "10.0.0.5", "10.0.0.6"
CLIENT, NEIGHBOUR, SPOOFED = "203.0.113.7", "198.51.100.20", "192.0.2.99"


@pytest.fixture
def behind_proxies(settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    return settings


def request_from(remote_addr: str, forwarded_for: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


@pytest.mark.db_independent
def test_it_ignores_the_header_when_no_proxy_is_trusted(settings):
    assert settings.TRUSTED_PROXIES == []

    assert client_ip(request_from(CLIENT, SPOOFED)) == CLIENT


@pytest.mark.db_independent
def test_it_ignores_the_header_from_an_untrusted_address(behind_proxies):
    assert client_ip(request_from(CLIENT, SPOOFED)) == CLIENT


@pytest.mark.db_independent
def test_it_reads_the_client_from_a_trusted_proxy(behind_proxies):
    assert client_ip(request_from(PROXY, CLIENT)) == CLIENT


@pytest.mark.db_independent
def test_it_walks_past_every_trusted_proxy_from_the_right(behind_proxies):
    # The client made up the leftmost entry; the first proxy appended the client's real address.
    request = request_from(PROXY, f"{SPOOFED}, {CLIENT}, {OTHER_PROXY}")

    assert client_ip(request) == CLIENT


@pytest.mark.db_independent
@pytest.mark.parametrize(
    "forwarded_for",
    ["", "unknown", f"{SPOOFED}, not-an-address", f"{SPOOFED}, 999.1.1.1", "fe80::1%eth0"],
)
def test_it_stops_at_a_malformed_entry_on_the_last_trusted_hop(behind_proxies, forwarded_for):
    assert client_ip(request_from(PROXY, forwarded_for)) == PROXY


@pytest.mark.db_independent
def test_it_answers_the_proxy_when_every_entry_is_a_trusted_proxy(behind_proxies):
    assert client_ip(request_from(PROXY, OTHER_PROXY)) == OTHER_PROXY


@pytest.mark.db_independent
def test_it_gives_the_address_in_its_one_spelling(behind_proxies):
    assert client_ip(request_from(PROXY, " 2001:DB8:0:0::1 ")) == "2001:db8::1"


@pytest.mark.db_independent
def test_it_has_no_address_for_a_connection_without_one(behind_proxies):
    assert client_ip(request_from("", CLIENT)) is None


def test_the_audit_context_records_the_client_behind_a_trusted_proxy(behind_proxies, viewer):
    request = request_from(PROXY, CLIENT)
    request.user = viewer

    assert ActionContext.from_request(request).ip_address == CLIENT


def test_the_audit_context_ignores_the_header_from_an_untrusted_address(behind_proxies, viewer):
    request = request_from(NEIGHBOUR, CLIENT)
    request.user = viewer

    assert ActionContext.from_request(request).ip_address == NEIGHBOUR


def log_in(client, username: str, password: str, forwarded_for: str, remote_addr: str = PROXY):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=remote_addr,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_it_locks_out_the_client_behind_a_trusted_proxy_not_the_proxy(
    client, behind_proxies, reviewer
):
    behind_proxies.AXES_ENABLED = True
    limit = behind_proxies.AXES_FAILURE_LIMIT
    statuses = [log_in(client, f"guess{n}", "wrong", CLIENT).status_code for n in range(limit)]

    assert statuses == [200] * (limit - 1) + [429]
    assert log_in(client, "reviewer", PASSWORD, CLIENT).status_code == 429
    assert log_in(client, "reviewer", PASSWORD, NEIGHBOUR).status_code == 302
    [event] = AuditEvent.objects.filter(action="auth.locked_out")
    assert (event.ip_address, event.after["ip_address"]) == (CLIENT, CLIENT)


def test_it_locks_out_an_untrusted_client_whatever_address_it_claims(
    client, behind_proxies, reviewer
):
    behind_proxies.AXES_ENABLED = True
    limit = behind_proxies.AXES_FAILURE_LIMIT
    statuses = [
        log_in(client, f"guess{n}", "wrong", f"192.0.2.{n}", remote_addr=CLIENT).status_code
        for n in range(limit)
    ]

    assert statuses == [200] * (limit - 1) + [429]
    assert log_in(client, "reviewer", PASSWORD, NEIGHBOUR, remote_addr=CLIENT).status_code == 429
    [event] = AuditEvent.objects.filter(action="auth.locked_out")
    assert event.ip_address == CLIENT


@pytest.mark.db_independent
def test_trusted_proxies_accepts_addresses_and_networks(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.5, 172.16.0.0/12,fd00::/8")

    assert envnetworks("TRUSTED_PROXIES", "") == [
        ipaddress.ip_network("10.0.0.5/32"),
        ipaddress.ip_network("172.16.0.0/12"),
        ipaddress.ip_network("fd00::/8"),
    ]


@pytest.mark.db_independent
@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.5/8", "10.0.0.0/33"])
def test_trusted_proxies_refuses_anything_else_loudly(monkeypatch, value):
    monkeypatch.setenv("TRUSTED_PROXIES", value)

    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        envnetworks("TRUSTED_PROXIES", "")
