"""Passive outlier ejection (flaw #9), Envoy's defaults, kept in each edge's memory.

Per (worker, service) the edge counts consecutive failed forwards (connection failure, timeout, 5xx). The fifth
in a row ejects the provider for ``30 s x`` the number of its ejections so far (at most 300 s); while ejected,
the proxy does not pick it. At most 10% of a service's providers are ejected at once, but always at least one
(Envoy's ``max_ejection_percent``, which "will eject at least one host regardless of the value"). A success
resets the count; an ejection ends by time alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BASE_EJECTION", "CONSECUTIVE_FAILURES", "MAX_EJECTION", "MAX_EJECTION_PERCENT", "OutlierDetector"]

CONSECUTIVE_FAILURES = 5
BASE_EJECTION = 30.0
MAX_EJECTION = 300.0
MAX_EJECTION_PERCENT = 0.10


@dataclass
class _Host:
    consecutive: int = 0
    ejections: int = 0
    ejected_until: float = float("-inf")


class OutlierDetector:
    """One edge's view of its providers' recent failures."""

    __slots__ = ("_hosts",)

    def __init__(self) -> None:
        self._hosts: dict[tuple[str, str], _Host] = {}

    def admitted(self, service: str, candidates: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """``candidates`` less the providers ejected at ``now``."""
        hosts = self._hosts
        out = []
        for record in candidates:
            host = hosts.get((record["id"], service))
            if host is None or host.ejected_until <= now:
                out.append(record)
        return out

    def report(self, service: str, worker_id: str, ok: bool, now: float, providers: int) -> bool:
        """Record one forward's result; True when it ejected the provider."""
        host = self._hosts.setdefault((worker_id, service), _Host())
        if ok:
            host.consecutive = 0
            return False
        host.consecutive += 1
        if host.consecutive < CONSECUTIVE_FAILURES or host.ejected_until > now:
            return False
        ejected = sum(1 for (w, s), h in self._hosts.items() if s == service and h.ejected_until > now)
        if ejected >= max(1, int(providers * MAX_EJECTION_PERCENT)):
            return False
        host.ejections += 1
        host.consecutive = 0
        host.ejected_until = now + min(MAX_EJECTION, BASE_EJECTION * host.ejections)
        return True
