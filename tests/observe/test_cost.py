"""The platform cost model: published prices, hand-made meters -> exact dollars, free-tier exhaustion times."""

from __future__ import annotations

import pytest

import rmasim
from rmasim.observe import CHECKERS, Observations, RequestLog
from rmasim.observe.cost import ITEMS, free_tier_exhausted, monthly_bill, usd_per_month
from rmasim.scenario import load_scenario_text
from rmasim.system import Coordinator
from rmasim.world import DOStats, KVStats

DAY = 86400.0


def test_items_are_the_published_prices():
    """Cloudflare's published figures, as quoted in rmasim.observe.cost (free plan a day; Workers Paid a month):

    - developers.cloudflare.com/workers/platform/pricing/: requests "100,000 per day" (Free); "10 million
      included per month +$0.30 per additional million" (Standard); "a minimum charge of $5 USD per month".
    - developers.cloudflare.com/kv/platform/pricing/: reads 100,000 / day, "10 million/month, + $0.50/million";
      writes, deletes and lists 1,000 / day each, "1 million/month, + $5.00/million".
    - developers.cloudflare.com/durable-objects/platform/pricing/: requests "100,000 / day", "1 million,
      + $0.15/million"; duration "13,000 GB-s / day", "400,000 GB-s, + $12.50/million GB-s"; SQLite rows read
      5 million / day, "First 25 billion / month included + $0.001 / million rows"; rows written 100,000 / day,
      "First 50 million / month included + $1.00 / million rows".
    """
    table = {name: (i.free_per_day, i.included_per_month, i.usd_per_million) for name, i in ITEMS.items()}
    assert table == {
        "workers_requests": (100_000, 10_000_000, 0.30),
        "kv_reads": (100_000, 10_000_000, 0.50),
        "kv_writes": (1_000, 1_000_000, 5.00),
        "kv_deletes": (1_000, 1_000_000, 5.00),
        "kv_lists": (1_000, 1_000_000, 5.00),
        "do_requests": (100_000, 1_000_000, 0.15),
        "do_duration": (13_000, 400_000, 12.50),
        "do_rows_read": (5_000_000, 25_000_000_000, 0.001),
        "do_rows_written": (100_000, 50_000_000, 1.00),
    }


def test_the_published_examples():
    """Workers pricing page, example 1: 15 M requests a month -> "(15,000,000 - 10,000,000) / 1,000,000 * $0.30"
    = $1.50. Durable Objects: the included amounts cost nothing."""
    assert usd_per_month("workers_requests", 15e6 / 30) == pytest.approx(1.50)
    assert usd_per_month("do_requests", 1e6 / 30) == pytest.approx(0.0, abs=1e-12)
    assert usd_per_month("do_duration", 400_000 / 30) == pytest.approx(0.0, abs=1e-12)
    # one object active all day: 86,400 s x 0.128 GB x 30 = 331,776 GB-s, within the 400,000 included
    assert usd_per_month("do_duration", 86_400 * 0.128) == 0.0
    # 20,000 GB-s a day (several objects): 600,000 - 400,000 = 200,000 GB-s over at $12.50 a million
    assert usd_per_month("do_duration", 20_000.0) == pytest.approx(2.50)


def _observations(duration: float) -> Observations:
    """Hand-made meters: 4 M Worker requests, KV 3 M reads / 150 k writes / 40 k deletes / 2 k lists, and a
    Durable Object with 2 M requests, 20,000 s active, 6 M rows read (5 M keys read + 1 M listed), 3 M written."""
    kv = KVStats()
    kv.reads["worker:a"] = 3_000_000
    kv.writes["worker:a"] = 150_000
    kv.deletes["service:x"] = 40_000
    kv.lists["worker:"] = 2_000
    do = DOStats()
    do.requests = 2_000_000
    do.active_seconds = 20_000.0
    do.reads["worker:a"] = 5_000_000
    do.listed_keys = 1_000_000
    do.writes["worker:a"] = 2_500_000
    do.deletes["worker:b"] = 500_000
    return Observations(
        duration=duration,
        warmup=0.0,
        samples=[],
        requests=RequestLog(),
        events=[],
        index_changes=[],
        kv_stats=kv,
        strong_stats=do,
        invocations={"client": 3_000_000, "agent": 999_000, "scheduled": 1_000},
    )


def test_a_day_of_hand_made_meters_costs_exact_dollars():
    """30 days of each figure, less the monthly inclusion, times the price a million (theory, by hand)."""
    out = CHECKERS["cost"].summarize(_observations(DAY))
    expected = {
        "workers_requests": (4e6 * 30 - 10e6) / 1e6 * 0.30,  # 110 M over: $33.00
        "kv_reads": (3e6 * 30 - 10e6) / 1e6 * 0.50,  # 80 M over: $40.00
        "kv_writes": (150e3 * 30 - 1e6) / 1e6 * 5.00,  # 3.5 M over: $17.50
        "kv_deletes": (40e3 * 30 - 1e6) / 1e6 * 5.00,  # 0.2 M over: $1.00
        "kv_lists": 0.0,  # 60 k a month, within 1 M
        "do_requests": (2e6 * 30 - 1e6) / 1e6 * 0.15,  # 59 M over: $8.85
        "do_duration": 0.0,  # 20,000 s x 0.128 GB x 30 = 76,800 GB-s a month, within 400,000
        "do_rows_read": 0.0,  # 180 M a month, within 25 billion
        "do_rows_written": (3e6 * 30 - 50e6) / 1e6 * 1.00,  # 40 M over: $40.00
    }
    assert expected == pytest.approx({"workers_requests": 33.0, "kv_reads": 40.0, "kv_writes": 17.5,
                                      "kv_deletes": 1.0, "kv_lists": 0.0, "do_requests": 8.85,
                                      "do_duration": 0.0, "do_rows_read": 0.0, "do_rows_written": 40.0})  # fmt: skip
    bill = {key.removeprefix("cost.usd_per_month."): v for key, v in out.items() if key.startswith("cost.usd_")}
    assert bill == pytest.approx({**expected, "base": 5.0, "total": 5.0 + 140.35})
    assert {k: v for k, v in out.items() if not k.startswith("cost.")} == pytest.approx({
        "workers.requests": 4_000_000, "workers.requests_per_day": 4e6,
        "workers.requests.agent": 999_000, "workers.requests.client": 3_000_000, "workers.requests.scheduled": 1_000,
        "strong.requests": 2_000_000, "strong.requests_per_day": 2e6, "strong.active_seconds": 20_000.0,
        "strong.gb_s_per_day": 2_560.0, "strong.rows_read_per_day": 6e6, "strong.rows_written_per_day": 3e6,
    })  # fmt: skip
    # KV writes: 1,000 a day allowed, 150,000 a day used -> gone after 1000 / (150000 / 86400 s) = 576 s
    assert (out["cost.free_tier_exhausted_at"], out["cost.free_tier_first"]) == (pytest.approx(576.0), "kv_writes")


def test_a_two_hour_slice_is_scaled_to_a_day():
    """The same meters over 2 h are 12 times the daily rate; exhaustion time = allowance / rate, rate = count / 2 h."""
    day = CHECKERS["cost"].summarize(_observations(DAY))
    slice_ = CHECKERS["cost"].summarize(_observations(2 * 3600.0))
    assert slice_["workers.requests_per_day"] == pytest.approx(12 * day["workers.requests_per_day"])
    assert slice_["cost.free_tier_exhausted_at"] == pytest.approx(1_000 / (150_000 / 7200.0))  # 48 s
    assert slice_["cost.free_tier_first"] == "kv_writes"
    per_day = {"workers_requests": 12 * 4e6, "kv_reads": 12 * 3e6, "do_rows_written": 12 * 3e6}
    assert slice_["cost.usd_per_month.total"] == pytest.approx(monthly_bill({**per_day, **{
        "kv_writes": 12 * 150e3, "kv_deletes": 12 * 40e3, "kv_lists": 12 * 2e3, "do_requests": 12 * 2e6,
        "do_duration": 12 * 2_560.0, "do_rows_read": 12 * 6e6}})["total"])  # fmt: skip


def test_free_tier_exhaustion_is_the_first_allowance_over_its_rate():
    # Worker requests at 200,000 a day run out at half the day; DO requests at 400,000 a day at a quarter
    assert free_tier_exhausted({"workers_requests": 200_000.0, "do_requests": 400_000.0}) == (21_600.0, "do_requests")
    # every use within its allowance (equal to it: gone only at midnight): never
    assert free_tier_exhausted({"workers_requests": 100_000.0, "kv_writes": 999.0}) == (None, None)
    assert free_tier_exhausted({}) == (None, None)


def test_a_run_without_a_durable_object_bills_only_the_base_fee():
    kv = KVStats()
    obs = Observations(duration=DAY, warmup=0.0, samples=[], requests=RequestLog(), events=[], index_changes=[],
                       kv_stats=kv, invocations={"client": 10, "agent": 5, "scheduled": 0})  # fmt: skip
    out = CHECKERS["cost"].summarize(obs)
    assert out["cost.usd_per_month.total"] == 5.0
    assert (out["strong.requests"], out["strong.active_seconds"]) == (0, 0.0)
    assert (out["cost.free_tier_exhausted_at"], out["cost.free_tier_first"]) == (None, None)


@pytest.mark.parametrize("preset", ["baseline", "reference"])
def test_every_coordinator_invocation_is_one_worker_request(preset, monkeypatch):
    """A run counts each handler the platform runs once: clients' requests, agents' calls, Cron Triggers."""
    ran = {"client": 0, "agent": 0, "scheduled": 0}
    handle, scheduled = Coordinator.handle, Coordinator.scheduled

    def counting_handle(self, req, isolate=None):
        ran["client" if req.path.startswith("/api/service/") else "agent"] += 1
        return handle(self, req, isolate)

    def counting_scheduled(self, isolate=None):
        ran["scheduled"] += 1
        return scheduled(self, isolate)

    monkeypatch.setattr(Coordinator, "handle", counting_handle)
    monkeypatch.setattr(Coordinator, "scheduled", counting_scheduled)
    result = rmasim.run(load_scenario_text(f"""
name: invocations
duration: 5m
warmup: 0s
coordinator: {{preset: {preset}, edges: 2}}
fleet:
  gpu: {{count: 3, start_within: 10s, services: {{upload: {{capacity: 2}}}}}}
workload:
  - {{service: upload, rate: 2/s}}
"""))  # fmt: skip
    summary = result.summary
    assert {kind: summary[f"workers.requests.{kind}"] for kind in ran} == ran
    assert summary["workers.requests.client"] == summary["routing.requests"]  # no warmup: every request counted
    assert ran["scheduled"] == (4 if preset == "reference" else 0)  # a sweeper each minute, 60 s to 240 s
    assert summary["workers.requests"] == sum(ran.values())
    assert (summary["strong.requests"] > 0) == (preset == "reference")
