"""The address a request came from, for login throttling and the audit trail alike.

Behind a reverse proxy every request arrives from the proxy, so the client's address has to be
read from `X-Forwarded-For`. Anyone can send that header, so it counts only when the request
comes from a proxy listed in TRUSTED_PROXIES; otherwise the connection's own address stands.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or None when the connection has no usable address.

    Each trusted proxy appends the address it received the request from, so the header is read
    from the right: past the trusted proxies, the first address is the client. An entry that is
    not an address stops the walk at the last trusted hop, since nothing left of it is vouched for.
    """
    hop = _address(request.META.get("REMOTE_ADDR", ""))
    if hop is None:
        return None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for entry in reversed(forwarded):
        if not _is_trusted_proxy(hop):
            break
        sender = _address(entry)
        if sender is None:
            break
        hop = sender
    return str(hop)


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A scoped IPv6 address ("fe80::1%eth0") names an interface of the sender's own machine.
    if getattr(address, "scope_id", None):
        return None
    return address


def _is_trusted_proxy(address: IPAddress) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)
