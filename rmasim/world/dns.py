"""DNS as the coordinator sees it: names to addresses, from the scenario, with names that rebind.

Model: a name resolves to a tuple of addresses (empty: the name does not exist, NXDOMAIN). Three kinds of answer,
looked up in this order:

- an **IP literal** resolves to itself (``http://169.254.169.254/`` needs no DNS);
- a **record** of the scenario's ``dns.records``: a fixed answer (``evil.example: [10.0.0.5]``);
- a **rebinding** name of ``dns.rebinding``: its first ``after`` lookups answer ``first``, every later one
  ``then`` (an attacker's DNS server with TTL 0 answers a public address while a registration is checked, and an
  internal one when the proxy forwards: DNS rebinding, as in CVE-2022-29153);
- a name under one of the **tunnel domains** (Cloudflare Tunnel's ``cfargotunnel.com`` and ``trycloudflare.com``,
  and ``tunnel.invalid``, the simulated fleet's own) resolves to one address of Cloudflare's anycast range
  ``104.16.0.0/13``, stable for the name: a proxied hostname answers with Cloudflare's edge, never the box behind
  the tunnel;
- anything else does not exist.

Each lookup costs ``latency`` (a DNS-over-HTTPS query to the location's resolver: about a millisecond). Lookups are
counted (:attr:`DNS.lookups`) for the cost model.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANYCAST", "DEFAULT_TUNNEL_DOMAINS", "DNS", "Rebinding"]

#: The domains whose names resolve to Cloudflare's anycast edge by default.
DEFAULT_TUNNEL_DOMAINS = ("cfargotunnel.com", "trycloudflare.com", "tunnel.invalid")
#: Cloudflare's anycast range the tunnel hostnames resolve into (one of its published IPv4 ranges).
ANYCAST = ipaddress.IPv4Network("104.16.0.0/13")


@dataclass(frozen=True)
class Rebinding:
    """A name whose answer changes: ``first`` for its first ``after`` lookups, ``then`` afterwards."""

    first: tuple[str, ...]
    then: tuple[str, ...]
    after: int = 1


@dataclass
class DNS:
    """The world's DNS (see the module docstring)."""

    records: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    rebinding: Mapping[str, Rebinding] = field(default_factory=dict)
    tunnel_domains: Sequence[str] = DEFAULT_TUNNEL_DOMAINS
    latency: float = 0.001
    lookups: int = 0
    """Lookups answered so far."""
    _asked: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, cfg: Any) -> DNS:
        """From a scenario's ``dns`` section (:class:`rmasim.scenario.models.DNSConfig`)."""
        records = {name.lower(): tuple(addresses) for name, addresses in cfg.records.items()}
        rebinding = {
            name.lower(): Rebinding(tuple(r.first), tuple(r.then), r.after) for name, r in cfg.rebinding.items()
        }
        return cls(records, rebinding, latency=cfg.latency)

    def resolve(self, name: str) -> tuple[tuple[str, ...], float]:
        """``(addresses, latency)`` for ``name`` now (a rebinding name's answer depends on the lookups before)."""
        self.lookups += 1
        name = name.lower().rstrip(".")
        literal = name[1:-1] if name.startswith("[") and name.endswith("]") else name
        try:
            return (str(ipaddress.ip_address(literal)),), self.latency
        except ValueError:
            pass
        if name in self.records:
            return tuple(self.records[name]), self.latency
        rebinding = self.rebinding.get(name)
        if rebinding is not None:
            asked = self._asked.get(name, 0)
            self._asked[name] = asked + 1
            return (rebinding.first if asked < rebinding.after else rebinding.then), self.latency
        if any(name.endswith("." + domain) for domain in self.tunnel_domains):
            return (anycast_address(name),), self.latency
        return (), self.latency


def anycast_address(name: str) -> str:
    """A stable address of :data:`ANYCAST` for ``name``."""
    offset = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % ANYCAST.num_addresses
    return str(ANYCAST.network_address + offset)
