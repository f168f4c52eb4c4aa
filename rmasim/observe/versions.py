"""Which versions served the requests (flaw #6): the share of each service's served requests per version.

``version.<service>.<version>.share`` = requests of the service served ok by a container of that version / the
service's requests served ok, over the measured requests (per phase too: a canary's share during its phase).
``version.refused`` counts the forwards a container refused because the proxy expected another version (the
registry was behind an upgrade): requests that reached a wrong version and were not served by it.
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["VersionShares"]


@register_checker
class VersionShares(Checker):
    name = "versions"
    per_request = True
    keys = (
        SummaryKey("version.*.share", "share of a service's served requests that a version served "
                   "(`version.<service>.<version>.share`)", "ratio", "none"),
        SummaryKey("version.refused", "forwards refused (412) by a container of another version than expected",
                   "count", "none"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        totals = obs.totals()
        out: dict[str, Any] = {"version.refused": totals.refused}
        for service, mine in sorted(totals.services.items()):
            if not mine.ok:
                continue
            for version in totals.versions:
                out[f"version.{service}.{version}.share"] = mine.served_by.get(version, 0) / mine.ok
        return out
