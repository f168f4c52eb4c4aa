"""Passive outlier ejection (flaw #9), Envoy's defaults, kept in each edge's memory.

Per (worker, service) the edge counts consecutive failed forwards (connection failure, timeout, 5xx). The fifth
in a row ejects the provider for ``30 s x`` the number of its ejections so far (at most 300 s); while ejected,
the proxy does not pick it. At most 10% of a service's providers are ejected at once, but always at least one
(Envoy's ``max_ejection_percent``, which "will eject at least one host regardless of the value"). A success
resets the count. When every provider is ejected the proxy routes among them anyway (Envoy's panic mode).

``outlier_release`` says how an ejection ends. ``time`` (Envoy): when its time is up. ``heartbeat``: when its time
is up *and* the edge has seen a heartbeat from the provider since the ejection (its record's ``last_heartbeat``
changed: a value compared for equality, not a clock reading, so no clock error matters). Failed forwards and
silence are two independent signs of a dead machine, and a dead machine never heartbeats: it stays out until
the sweeper purges it, where Envoy's timer lets the edge try it again every 30 s. The two other guards follow the
same evidence: the ejection cap counts only the ejected providers heard from since their ejection (the cap is
there in case the failures are the edge's fault, and a provider that also fell silent is not such a case), and
panic mode routes only among the ejected providers heard from since (none: the request is answered 503). A
detector that is wrong (every provider failing for a reason of its own, but alive) is corrected by the next
heartbeats, within a heartbeat period and the route cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BASE_EJECTION", "CONSECUTIVE_FAILURES", "MAX_EJECTION", "MAX_EJECTION_PERCENT", "OutlierDetector"]

CONSECUTIVE_FAILURES = 5
BASE_EJECTION = 30.0
MAX_EJECTION = 300.0
MAX_EJECTION_PERCENT = 0.10
_UNHEARD = object()  # the heartbeat a provider had at its ejection, before any was recorded


@dataclass
class _Host:
    consecutive: int = 0
    ejections: int = 0
    ejected_until: float = float("-inf")
    heartbeat_at_ejection: Any = _UNHEARD
    """``heartbeat`` release: the record's ``last_heartbeat`` when the provider was last ejected."""
    heard_since: bool = True
    """``heartbeat`` release: a heartbeat was seen since the last ejection (True when never ejected)."""


class OutlierDetector:
    """One edge's view of its providers' recent failures. ``by_heartbeat``: ``outlier_release: heartbeat``."""

    __slots__ = ("_by_heartbeat", "_hosts")

    def __init__(self, by_heartbeat: bool = False) -> None:
        self._hosts: dict[tuple[str, str], _Host] = {}
        self._by_heartbeat = by_heartbeat

    def _heard(self, host: _Host, record: dict[str, Any]) -> bool:
        """Whether ``record`` shows a heartbeat since the host's ejection (always, releasing by time)."""
        if not host.heard_since and record.get("last_heartbeat") != host.heartbeat_at_ejection:
            host.heard_since = True
        return host.heard_since

    def admitted(self, service: str, candidates: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """``candidates`` less the providers ejected at ``now``."""
        hosts = self._hosts
        out = []
        for record in candidates:
            host = hosts.get((record["id"], service))
            if host is None or (self._heard(host, record) and host.ejected_until <= now):
                out.append(record)
        return out

    def routable(self, service: str, candidates: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """Whom the proxy may pick among ``candidates`` at ``now``: those admitted, else (every one ejected) panic
        mode's choice."""
        return self.admitted(service, candidates, now) or self.panic(service, candidates)

    def panic(self, service: str, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Whom to route to when every one of ``candidates`` is ejected: all of them (Envoy), or, releasing by
        heartbeat, those heard from since their ejection."""
        hosts = self._hosts
        return [r for r in candidates if self._heard(hosts[(r["id"], service)], r)]

    def report(self, service: str, record: dict[str, Any], ok: bool, now: float, providers: int) -> bool:
        """Record one forward's result to ``record``'s worker; True when it ejected the provider."""
        host = self._hosts.setdefault((record["id"], service), _Host())
        if ok:
            host.consecutive = 0
            return False
        host.consecutive += 1
        if host.consecutive < CONSECUTIVE_FAILURES or host.ejected_until > now or not host.heard_since:
            return False
        ejected = sum(
            1 for (_, s), h in self._hosts.items() if s == service and h.ejected_until > now and h.heard_since
        )
        if ejected >= max(1, int(providers * MAX_EJECTION_PERCENT)):
            return False
        host.ejections += 1
        host.consecutive = 0
        host.ejected_until = now + min(MAX_EJECTION, BASE_EJECTION * host.ejections)
        if self._by_heartbeat:
            host.heartbeat_at_ejection = record.get("last_heartbeat", _UNHEARD)
            host.heard_since = False
        return True
