"""KV operations by kind and key family, per simulated day, and what they would cost on Workers KV.

Prices (DESIGN.md section 4): the free plan allows per day 100,000 reads and 1,000 each of writes, deletes and
lists; the paid plan includes per month 10 M reads and 1 M each of writes, deletes and lists, then charges
$0.50 per million reads and $5.00 per million writes, deletes or lists. ``cost.usd_per_month`` is the usage
charge of a 30-day month at the run's daily rate, after the included allowance (the plan's base fee excluded).
"""

from __future__ import annotations

from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker

__all__ = ["FREE_PER_DAY", "INCLUDED_PER_MONTH", "USD_PER_MILLION", "KVCost", "monthly_cost"]

KINDS = ("read", "write", "delete", "list")
FREE_PER_DAY = {"read": 100_000, "write": 1_000, "delete": 1_000, "list": 1_000}
INCLUDED_PER_MONTH = {"read": 10_000_000, "write": 1_000_000, "delete": 1_000_000, "list": 1_000_000}
USD_PER_MILLION = {"read": 0.50, "write": 5.00, "delete": 5.00, "list": 5.00}
DAYS_PER_MONTH = 30


def monthly_cost(per_day: dict[str, float]) -> float:
    """Usage charge in USD for a 30-day month at these daily operation counts."""
    total = 0.0
    for kind in KINDS:
        billable = max(0.0, per_day[kind] * DAYS_PER_MONTH - INCLUDED_PER_MONTH[kind])
        total += billable / 1e6 * USD_PER_MILLION[kind]
    return total


@register_checker
class KVCost(Checker):
    name = "kv"
    keys = (
        SummaryKey("kv.reads", "KV reads (each key of a bulk get counts)", "count"),
        SummaryKey("kv.writes", "KV writes accepted", "count"),
        SummaryKey("kv.deletes", "KV deletes accepted", "count"),
        SummaryKey("kv.lists", "KV list operations", "count"),
        SummaryKey("kv.rate_limited", "writes refused with 429 (same key within 1 s)", "count"),
        SummaryKey("kv.*_per_day", "reads, writes, deletes and lists per simulated day", "count/day"),
        SummaryKey("kv.writes.<family>", "writes per key family (worker, worker_ids, service, ...)", "count"),
        SummaryKey("cost.free_tier_ratio", "largest per-day use / free-plan daily limit over the kinds", "ratio"),
        SummaryKey("cost.free_tier_exceeded", "1 when some kind exceeds the free plan's daily limit", "bool"),
        SummaryKey("cost.usd_per_month", "usage charge of a 30-day month on the paid plan", "USD"),
        SummaryKey("strong.ops", "storage operations on the Durable Object (reads per key, writes, deletes, lists)",
                   "count"),
        SummaryKey("strong.ops_per_day", "Durable Object storage operations per simulated day", "count/day"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        stats = obs.kv_stats
        days = obs.duration / 86400.0
        totals = {kind: stats.total(kind) for kind in KINDS}
        per_day = {kind: totals[kind] / days for kind in KINDS}
        ratio = max(per_day[k] / FREE_PER_DAY[k] for k in KINDS)
        out: dict[str, Any] = {f"kv.{kind}s": totals[kind] for kind in KINDS}
        out["kv.rate_limited"] = stats.rate_limited
        out.update({f"kv.{kind}s_per_day": per_day[kind] for kind in KINDS})
        for (kind, family), count in sorted(stats.counts.items()):
            if kind == "write":
                out[f"kv.writes.{family}"] = count
        out["cost.free_tier_ratio"] = ratio
        out["cost.free_tier_exceeded"] = int(ratio > 1.0)
        out["cost.usd_per_month"] = monthly_cost(per_day)
        strong = obs.strong_stats
        ops = sum(strong.total(kind) for kind in KINDS) if strong is not None else 0
        out["strong.ops"] = ops
        out["strong.ops_per_day"] = ops / days
        return out
