"""End to end: a Worker whose registry is expiring keys found by list() (workers/expiring_registry) on the crash
scenario. The crashed worker must leave the listing exactly when its key expires.

From the model (rmasim.world.kv): the last heartbeat's put, issued at simulated time H, gives ``worker:{id}`` the
expiration H + 90 (``expirationTtl`` counts from the write). From then on the key reads as missing and is not
listed at any edge; the edge cache adds nothing, since a cached list page is kept only until the earliest
expiration among its keys. So every list issued before H + 90 names the worker (its previous heartbeat's version
was visible until at least then) and every list issued at or after H + 90 does not.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rmasim
from rmasim.engine import _Simulation

ROOT = Path(__file__).parent.parent.parent
WORKER = Path(__file__).parent / "workers" / "expiring_registry" / "wrangler.toml"
TTL = 90.0


@pytest.fixture(scope="module")
def logs() -> tuple[list[tuple[float, dict]], float]:
    """The Worker's console lines as (true time, parsed line), and the run's duration (s)."""
    scenario = rmasim.load_scenario(ROOT / "scenarios" / "crash.yaml").with_overrides(
        {"duration": "7m", "coordinator.worker": str(WORKER)}
    )  # the crash is at 5 m; its key must expire by 5 m + 90 s at the latest
    sim = _Simulation(scenario, scenario.seed)
    try:
        sim.env.run(until=scenario.duration)
    finally:
        sim.close()
    lines = [(t, json.loads(f["message"])) for t, _, event, f in sim.observer.traces if event == "console"]
    return lines, scenario.duration


def test_the_crashed_worker_leaves_the_list_when_its_key_expires(logs):
    lines, duration = logs
    beats: dict[str, float] = {}
    for _, line in lines:
        if "heartbeat" in line:
            beats[line["heartbeat"]] = max(beats.get(line["heartbeat"], 0.0), line["t"])
    dead = [worker for worker, last in beats.items() if last < 300.0]  # gpu/0 is killed at 5 m
    assert len(beats) == 3 and len(dead) == 1, beats
    (worker,) = dead
    expires = beats[worker] + TTL
    routes = [(line["t"], worker in line["listed"]) for _, line in lines if "route" in line]
    before = [listed for t, listed in routes if beats[worker] <= t < expires]
    after = [listed for t, listed in routes if t >= expires]
    assert before and all(before)  # listed up to its expiration ...
    assert after and not any(after)  # ... and never after it
    assert expires < duration - 10.0


def test_the_live_workers_stay_listed(logs):
    """The live workers' keys are renewed every 30 s (heartbeat_interval) well inside their 90 s TTL."""
    lines, _ = logs
    late = [set(line["listed"]) for t, line in lines if "route" in line and t > 400.0]
    assert late and all(len(listed) == 2 for listed in late)


def test_its_registry_read_from_the_worker_records():
    """``coordinator.registry_view: worker_records``: the checkers take each record's services as the index. The
    crashed worker's record expires 90 s after its last heartbeat, which came at most one heartbeat period (30 s
    plus the 1 s CPU sample) before the crash: it is purged 59 to 90 s after the crash (plus a sample period,
    5 s, as the purge checker reads the index at each sample), and nothing dead is left at the end."""
    scenario = rmasim.load_scenario(ROOT / "scenarios" / "crash.yaml").with_overrides(
        {"duration": "8m", "coordinator.worker": str(WORKER), "coordinator.registry_view": "worker_records"}
    )
    summary = rmasim.run(scenario).summary
    assert summary["purge.never"] == 0 and summary["pollution.final"] == 0.0
    assert TTL - 31.0 <= summary["purge.time_max"] <= TTL + 5.0
    assert summary["pollution.max"] > 0  # dead and listed, until it expired
    index_keys = rmasim.run(scenario.with_overrides({"coordinator.registry_view": "index_keys"})).summary
    assert index_keys["pollution.max"] == 0  # no service index key at all: nothing to read
