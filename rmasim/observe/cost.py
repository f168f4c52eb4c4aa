"""What the coordinator's platform would bill: Worker requests, Workers KV and the Durable Object, per month.

Model: every billable meter of a run is counted over the whole simulated ``duration`` and turned into a daily
rate (``count / duration * 86400``: a 2 h slice is scaled x 12). Each meter is an :class:`Item` with its free
plan's daily allowance and the Workers Paid plan's monthly included amount and overage price, as Cloudflare
publishes them:

* **Workers** (developers.cloudflare.com/workers/platform/pricing/): Free plan 100,000 requests per day;
  Standard (Workers Paid) "10 million included per month +$0.30 per additional million"; CPU time 30 million
  CPU ms included per month +$0.02 per additional million CPU ms; the Workers Paid plan is "a minimum charge of
  $5 USD per month for an account" and includes Workers, Workers KV and Durable Objects usage. Requests are the
  inbound invocations of the coordinator (:attr:`rmasim.runtime.Runtime.invocations`: clients' proxied
  requests, agents' calls, Cron Triggers that run the handler); subrequests (forwards to tunnels, KV and
  Durable Object calls) are not Worker requests.
* **Workers KV** (developers.cloudflare.com/kv/platform/pricing/): Free plan 100,000 reads and 1,000 each of
  writes, deletes and lists per day; Paid 10 million reads/month +$0.50/million, 1 million each of writes,
  deletes and lists/month +$5.00/million. The counts are those of :mod:`rmasim.observe.kv_cost`, whose
  ``cost.usd_per_month`` (the KV usage charge alone) is kept as it was.
* **Durable Objects** (developers.cloudflare.com/durable-objects/platform/pricing/): requests, Free plan
  100,000/day, Paid 1 million/month +$0.15/million ("every RPC method call on a Durable Objects stub is its own
  RPC session and therefore a single billed request"); duration, Free 13,000 GB-s/day, Paid 400,000 GB-s/month
  +$12.50/million GB-s, billed "for the 128 MB of memory your Durable Object is allocated"; SQLite storage
  (billed since January 2026; the key-value methods ``get``/``put``/``delete``/``list`` "are billed as rows read
  and rows written"): rows read, Free 5 million/day, Paid first 25 billion/month included +$0.001/million
  rows; rows written, Free 100,000/day, Paid first 50 million/month included +$1.00/million rows. The meters
  come from :class:`rmasim.world.DOStats` (one store: one object; its active time bounds duration from above).
  One object active all day is 86,400 s x 0.128 GB x 30 = 331,776 GB-s a month, within the 400,000 included:
  duration never costs anything here, and the free plan's 13,000 GB-s a day (28 h of one object) never run out;
  both are computed all the same, so a model with more objects would be billed by the same table.

Not modelled, so not billed here: Worker CPU time (the simulator has none; at 1 ms a request the 30 million
included CPU ms cover 30 million requests a month), stored data (the registry is kilobytes against 1 GB of KV
and 5 GB of SQLite included), and the Worker's own subrequest limits.

Summary: ``cost.usd_per_month.<item>`` is the overage of one item in a 30-day month at the run's daily rate,
``max(0, per_day * 30 - included) / 1e6 * usd_per_million``; ``cost.usd_per_month.base`` the $5 minimum;
``cost.usd_per_month.total`` their sum (a Workers Paid account running only this coordinator).
``cost.free_tier_exhausted_at`` is the time into a UTC day (free allowances reset at 00:00 UTC) at which the
first of the free plan's daily allowances runs out at the run's average rate, ``allowance / (count /
duration)`` seconds - for a run shorter than a day an extrapolation past its end - and null when every
item's daily use stays within its allowance; ``cost.free_tier_first`` names that item (null when none).

Example::

    >>> usd_per_month("workers_requests", 500_000.0)  # 15 M a month: 5 M over the 10 M included, at $0.30/M
    1.5
    >>> free_tier_exhausted({"kv_writes": 2_000.0, "workers_requests": 50_000.0})
    (43200.0, 'kv_writes')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import Checker, Observations, SummaryKey, register_checker
from .kv_cost import DAYS_PER_MONTH, FREE_PER_DAY, INCLUDED_PER_MONTH, KINDS, USD_PER_MILLION

__all__ = [
    "BASE_FEE_USD",
    "DO_MEMORY_GB",
    "ITEMS",
    "Item",
    "PlatformCost",
    "free_tier_exhausted",
    "monthly_bill",
    "usd_per_month",
]

DAY = 86400.0
BASE_FEE_USD = 5.00
"""The Workers Paid plan's minimum monthly charge (it includes Workers, Workers KV and Durable Objects usage)."""
DO_MEMORY_GB = 0.128
"""Duration is billed for the 128 MB a Durable Object is allocated, whatever it uses."""


@dataclass(frozen=True, slots=True)
class Item:
    """One billed meter: the free plan's daily allowance, the paid plan's monthly inclusion and overage price."""

    name: str
    unit: str
    free_per_day: float
    included_per_month: float
    usd_per_million: float


ITEMS: dict[str, Item] = {
    item.name: item
    for item in (
        Item("workers_requests", "requests", 100_000, 10_000_000, 0.30),
        *(
            Item(f"kv_{kind}s", f"{kind}s", FREE_PER_DAY[kind], INCLUDED_PER_MONTH[kind], USD_PER_MILLION[kind])
            for kind in KINDS
        ),
        Item("do_requests", "requests", 100_000, 1_000_000, 0.15),
        Item("do_duration", "GB-s", 13_000, 400_000, 12.50),
        Item("do_rows_read", "rows", 5_000_000, 25_000_000_000, 0.001),
        Item("do_rows_written", "rows", 100_000, 50_000_000, 1.00),
    )
}
"""Every billed item, in the order ties are broken for ``cost.free_tier_first``."""


def usd_per_month(item: str, per_day: float) -> float:
    """Overage charge in USD of ``item`` for a 30-day month at ``per_day`` units a day (0 within the inclusion)."""
    spec = ITEMS[item]
    return max(0.0, per_day * DAYS_PER_MONTH - spec.included_per_month) / 1e6 * spec.usd_per_million


def monthly_bill(per_day: Mapping[str, float]) -> dict[str, float]:
    """``{item: USD}`` for every item of ``per_day`` (others count 0), plus ``base`` and ``total``."""
    bill = {name: usd_per_month(name, per_day.get(name, 0.0)) for name in ITEMS}
    bill["base"] = BASE_FEE_USD
    bill["total"] = BASE_FEE_USD + sum(bill[name] for name in ITEMS)
    return bill


def free_tier_exhausted(per_day: Mapping[str, float]) -> tuple[float | None, str | None]:
    """``(seconds into the day, item)`` at which the first free daily allowance runs out at these daily rates:
    ``allowance / (per_day / 86400)`` for the item where that is smallest; ``(None, None)`` when every item's
    daily use is within its allowance (a use equal to the allowance exhausts it only at the day's end)."""
    first: tuple[float | None, str | None] = (None, None)
    for name, spec in ITEMS.items():
        use = per_day.get(name, 0.0)
        if use <= spec.free_per_day:
            continue
        at = spec.free_per_day / use * DAY
        if first[0] is None or at < first[0]:
            first = (at, name)
    return first


def daily_use(obs: Observations) -> tuple[dict[str, float], dict[str, Any]]:
    """Each item's use per simulated day, and the raw meters behind them (summary keys)."""
    days = obs.duration / DAY
    invocations = {kind: int(n) for kind, n in obs.invocations.items()}
    requests = sum(invocations.values())
    kv = obs.kv_stats
    strong = obs.strong_stats
    do_requests = getattr(strong, "requests", 0)
    active = float(getattr(strong, "active_seconds", 0.0))
    rows_read = strong.rows_read() if hasattr(strong, "rows_read") else 0
    rows_written = strong.rows_written() if hasattr(strong, "rows_written") else 0
    counts = {
        "workers_requests": requests,
        **{f"kv_{kind}s": kv.total(kind) for kind in KINDS},
        "do_requests": do_requests,
        "do_duration": active * DO_MEMORY_GB,
        "do_rows_read": rows_read,
        "do_rows_written": rows_written,
    }
    per_day = {name: count / days for name, count in counts.items()}
    meters: dict[str, Any] = {"workers.requests": requests, "workers.requests_per_day": per_day["workers_requests"]}
    meters.update({f"workers.requests.{kind}": n for kind, n in sorted(invocations.items())})
    meters.update(
        {
            "strong.requests": do_requests,
            "strong.requests_per_day": per_day["do_requests"],
            "strong.active_seconds": active,
            "strong.gb_s_per_day": per_day["do_duration"],
            "strong.rows_read_per_day": per_day["do_rows_read"],
            "strong.rows_written_per_day": per_day["do_rows_written"],
        }
    )
    return per_day, meters


@register_checker
class PlatformCost(Checker):
    name = "cost"
    keys = (
        SummaryKey("workers.requests", "coordinator invocations, each a billed Worker request (clients' proxied "
                   "requests, agents' calls, Cron Triggers)", "count"),
        SummaryKey("workers.requests_per_day", "Worker requests per simulated day", "count/day"),
        SummaryKey("workers.requests.<kind>", "Worker requests by kind: client, agent, scheduled", "count"),
        SummaryKey("strong.requests", "requests to the Durable Object (one per call the object answered)", "count"),
        SummaryKey("strong.requests_per_day", "Durable Object requests per simulated day", "count/day"),
        SummaryKey("strong.active_seconds", "time the Durable Object had a request in it (billed duration)", "s"),
        SummaryKey("strong.gb_s_per_day", "Durable Object duration per simulated day, at 128 MB", "GB-s/day"),
        SummaryKey("strong.rows_read_per_day", "SQLite rows read per simulated day (keys read and listed)",
                   "count/day"),
        SummaryKey("strong.rows_written_per_day", "SQLite rows written per simulated day (puts and deletes)",
                   "count/day"),
        SummaryKey("cost.usd_per_month.base", "the Workers Paid plan's minimum monthly charge", "USD"),
        SummaryKey("cost.usd_per_month.total", "base fee plus every item's overage, 30-day month, Workers Paid",
                   "USD"),
        SummaryKey("cost.usd_per_month.<item>", "overage of one item in a 30-day month on Workers Paid: "
                   "workers_requests, kv_reads/writes/deletes/lists, do_requests/duration/rows_read/rows_written",
                   "USD"),
        SummaryKey("cost.free_tier_exhausted_at", "seconds into a UTC day at which the first free-plan daily "
                   "allowance runs out at the run's rate (extrapolated past a shorter run; null: never)", "s",
                   "higher"),
        SummaryKey("cost.free_tier_first", "the item whose free daily allowance runs out first (null: none)", "",
                   "none"),
    )  # fmt: skip

    def summarize(self, obs: Observations) -> dict[str, Any]:
        per_day, out = daily_use(obs)
        out.update({f"cost.usd_per_month.{name}": usd for name, usd in monthly_bill(per_day).items()})
        at, first = free_tier_exhausted(per_day)
        out["cost.free_tier_exhausted_at"] = at
        out["cost.free_tier_first"] = first
        return out
