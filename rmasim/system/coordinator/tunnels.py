"""Which tunnel URLs the coordinator will forward to (``tunnel_validation``): no SSRF through the proxy.

A worker's ``tunnel_url`` is checked when it registers (a refusal is ``400 {"error": "tunnel_url refused: why",
"field": "tunnel_url"}``) and again before every forward (``502 {"error": "tunnel refused", ...}``, which
breakers and outlier ejection count as the provider's failure), since what a name resolves to can change after
the registration was accepted (DNS rebinding). The rules:

- ``https`` only, no user info, port 443 or none, no path beyond ``/``, no query or fragment (``http://``,
  ``file://``, ``gopher://`` are refused by scheme);
- the host matches one of the policy's ``tunnel_domains`` patterns: ``*.example.com`` is any name below
  ``example.com`` (not the apex), anything else the exact name; the default accepts Cloudflare Tunnel's hostnames
  (``*.cfargotunnel.com``, ``*.trycloudflare.com``) and the simulated fleet's (``*.tunnel.invalid``). An IP
  literal never matches a domain pattern;
- every address the host resolves to (a :class:`~rmasim.system.ops.Resolve`, answered by the world's DNS) is a
  global one (``ipaddress``'s ``is_global``: not loopback, private, link-local, shared, reserved, multicast or
  unspecified; an IPv4-mapped IPv6 address is judged as its IPv4 address) and not a cloud metadata address
  (:data:`METADATA`); a name that does not resolve is refused.

The check and the forward see the same DNS answer here; a real Worker's ``fetch`` resolves again by itself, so a
deployment should also pin the checked address (connect through a resolve-once egress proxy), which this model
takes as given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Generator, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..ops import Resolve

__all__ = ["DEFAULT_TUNNEL_DOMAINS", "METADATA", "host_allowed", "tunnel_problem"]

DEFAULT_TUNNEL_DOMAINS = ("*.cfargotunnel.com", "*.trycloudflare.com", "*.tunnel.invalid")
#: Cloud metadata services (AWS/GCP/Azure/OpenStack, AWS's IPv6 one, Alibaba's).
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """``host`` matches one of ``patterns`` (see the module docstring)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.startswith("*."):
            suffix = pattern[1:]
            if host.endswith(suffix) and len(host) > len(suffix) and not host.startswith("."):
                return True
        elif host == pattern:
            return True
    return False


def address_problem(address: str) -> str | None:
    """Why a forward must not go to ``address`` (None: a global address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"not an address: {address!r}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return f"resolves to a metadata address ({ip})"
    if not ip.is_global or ip.is_multicast:
        return f"resolves to an internal address ({ip})"
    return None


def tunnel_problem(url: Any, patterns: Sequence[str]) -> Generator[Any, Any, str | None]:
    """Why ``url`` is not a tunnel the proxy may forward to (None: it is); resolves its host."""
    if not isinstance(url, str) or not url:
        return "not a URL"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a URL"
    if parts.scheme != "https":
        return "https only"
    if parts.username is not None or parts.password is not None:
        return "user info in the URL"
    if port not in (None, 443):
        return "port other than 443"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "a path, query or fragment"
    host = parts.hostname or ""
    if not host_allowed(host, patterns):
        return "host outside the tunnel domains"
    addresses = yield Resolve(host)
    if not addresses:
        return "host does not resolve"
    for address in addresses:
        problem = address_problem(address)
        if problem is not None:
            return problem
    return None
