"""Sometimes properties (issue 14, Build 1, third kind): states a campaign must reach; never a failure.

Each property is checked against the record it reads (hand-made histories, a two-edge Workers KV) and in small
runs against what the checkers count of the same thing (``kv.rate_limited``, ``breaker.first_open_at``), so a
reach is tied to its evidence, not to an earlier run's numbers. Judging them must not change the run: every
other summary value, and the requests, are the same with and without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import rmasim
from rmasim.cli import app
from rmasim.observe import MachineEvent, Observations
from rmasim.observe.properties import PROPERTIES, Property, PropertyResult, register_property
from rmasim.observe.sometimes import (
    CachedMissHidesRegistration,
    ConcurrentLeaderClaims,
    PurgeDuringPartition,
    sometimes_names,
    sometimes_properties,
)
from rmasim.scenario import load_scenario, load_scenario_text
from rmasim.world import WorkersKV

ROOT = Path(__file__).parent.parent.parent
SIX = [
    "cached_miss_hides_registration",
    "concurrent_leader_claims",
    "registry_write_429",
    "purge_during_partition",
    "breaker_opens",
    "retried_onto_second_provider",
]

FLEET = """\
name: sometimes
seed: 1
duration: 10m
sample_every: 5s
coordinator: {{preset: {preset}, edges: 2}}
fleet:
  gpu: {{count: 3, start_within: 10s, services: {{upload: {{port: 8103, capacity: 4}}}}}}
workload:
  - {{service: upload, rate: 2/s}}
faults:
  - {{at: 2m, action: partition, target: gpu/0, duration: 5m}}
properties: [{names}]
"""


def fleet(preset: str, names: list[str] | None = None) -> rmasim.Scenario:
    listed = ", ".join(f"{{name: {n}}}" for n in (SIX if names is None else names))
    return load_scenario_text(FLEET.format(preset=preset, names=listed))


def by_name(result: rmasim.RunResult) -> dict[str, PropertyResult]:
    return {p.name: p for p in result.properties}


def test_the_six_are_registered_as_sometimes_and_only_asked_for():
    assert sometimes_names() == SIX
    assert all(PROPERTIES[n].kind == "sometimes" for n in SIX)
    assert [s.name for s in sometimes_properties()] == SIX
    from rmasim.observe.properties import DEFAULT_PROPERTIES

    assert not {p["name"] for p in DEFAULT_PROPERTIES} & set(SIX)  # the search's failing set never has them


def test_a_kind_outside_the_three_is_refused():
    class Odd(Property):
        name = "odd_kind"
        kind = "eventually"

    with pytest.raises(ValueError, match="kind must be one of safety, liveness, sometimes"):
        register_property(Odd)


@pytest.mark.parametrize("path", ["scenarios/crash.yaml", "scenarios/leader_race.yaml"])
def test_judging_them_changes_nothing_else_in_the_run(path):
    scenario = load_scenario(ROOT / path)
    plain = rmasim.run(scenario, seed=1)
    judged = rmasim.run(scenario, seed=1, properties=sometimes_properties())
    assert not [k for k in plain.summary if k.startswith("sometimes.")]
    assert sorted(k for k in judged.summary if k.startswith("sometimes.")) == [f"sometimes.{n}.reached_at" for n in
                                                                              sorted(SIX)]  # fmt: skip
    assert {k: v for k, v in judged.summary.items() if not k.startswith("sometimes.")} == plain.summary
    pd.testing.assert_frame_equal(judged.requests, plain.requests)
    assert judged.passed == plain.passed


def test_a_sometimes_property_never_fails_and_its_key_is_null_when_not_reached(tmp_path):
    scenario = fleet("baseline")
    result = rmasim.run(scenario)
    verdicts = by_name(result)
    assert all(p.holds and p.violated_at is None for p in verdicts.values())
    assert result.passed
    reached = [n for n, p in verdicts.items() if p.reached_at is not None]
    missed = [n for n, p in verdicts.items() if p.reached_at is None]
    assert reached and missed  # both kinds of answer in one run
    for name in reached:
        assert result.summary[f"sometimes.{name}.reached_at"] == verdicts[name].reached_at
        assert verdicts[name].entities
    for name in missed:
        assert result.summary[f"sometimes.{name}.reached_at"] is None
    path = tmp_path / "s.yaml"
    path.write_text(FLEET.format(preset="baseline", names=", ".join(f"{{name: {n}}}" for n in SIX)))
    cli = CliRunner().invoke(app, ["run", str(path), "--all", "--out", str(tmp_path / "out")])
    assert cli.exit_code == 0, cli.output
    assert "reached" in cli.output and "not reached" in cli.output  # the properties table (--all)
    assert f"{len(reached)}/6 sometimes reached" in cli.output  # the verdict line
    stored = {p["property"]: p for p in json.loads((tmp_path / "out" / "properties.json").read_text())}
    assert stored[reached[0]]["reached_at"] == verdicts[reached[0]].reached_at
    assert stored[missed[0]]["reached_at"] is None and stored[missed[0]]["holds"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary[f"sometimes.{missed[0]}.reached_at"] is None


@pytest.mark.parametrize("preset", ["baseline", "seed-fixes", "reference"])
def test_each_reach_agrees_with_what_the_checkers_count(preset):
    result = rmasim.run(fleet(preset))
    s, verdicts = result.summary, by_name(result)
    # a 429 is reached exactly when the KV refused a write, first at the earliest refusal
    assert (verdicts["registry_write_429"].reached_at is not None) == (s["kv.rate_limited"] > 0)
    # a breaker opening: at the time the resilience checker dates the first one
    assert verdicts["breaker_opens"].reached_at == s["breaker.first_open_at"]
    # a retry onto a second provider needs a request forwarded twice
    retry = verdicts["retried_onto_second_provider"]
    if retry.reached_at is not None:
        first, second = retry.entities
        assert first != second
        assert max(result.request_log.attempts) >= 2
    # a purge during the partition: the sweeper purged within [2m, 7m)
    purge = verdicts["purge_during_partition"]
    if purge.reached_at is not None:
        assert 120.0 <= purge.reached_at < 420.0
        assert "gpu/0" in purge.entities


def test_the_reference_reaches_a_purge_and_a_retry_under_a_partition_and_the_baseline_a_stale_read():
    reference = by_name(rmasim.run(fleet("reference")))
    assert reference["purge_during_partition"].reached_at is not None
    assert reference["retried_onto_second_provider"].reached_at is not None
    baseline = by_name(rmasim.run(fleet("baseline")))
    stale = baseline["cached_miss_hides_registration"]
    assert stale.reached_at is not None and any(e.startswith("edge/") for e in stale.entities)
    assert baseline["registry_write_429"].reached_at is not None  # the shared lists, written at boot


def test_a_stale_read_is_one_without_a_worker_the_central_store_holds():
    kv = WorkersKV(n_edges=2, read_latency=0.01, write_latency=0.05, rng=np.random.default_rng(0))
    watch = CachedMissHidesRegistration(CachedMissHidesRegistration.Params(), None)
    assert watch.watch_kv(kv)
    value, _ = kv.get(1, "service:gpu", 0.0)  # edge 1 caches the miss
    assert not watch.read(1, "service:gpu", value, 0.0)  # nothing registered yet: not stale
    kv.put(0, "service:gpu", ["w-1"], 1.0)
    kv.put(0, "worker:w-1", {"id": "w-1"}, 1.0)
    value, _ = kv.get(1, "service:gpu", 1.02)  # before the write arrives centrally (1.05): not stale
    assert value is None and not watch.read(1, "service:gpu", value, 1.02)
    value, _ = kv.get(0, "service:gpu", 2.0)  # the writer's own edge sees it
    assert not watch.read(0, "service:gpu", value, 2.0)
    assert not watch.read(1, "heartbeat_leader", None, 2.0)  # not a registry key
    value, _ = kv.get(1, "service:gpu", 30.0)  # the cached miss, within the TTL, hides w-1
    assert value is None and watch.read(1, "service:gpu", value, 30.0)
    obs = SimpleNamespace(events=[])
    verdict = watch.check(obs)  # type: ignore[arg-type]
    assert verdict.reached_at == 30.0 and verdict.entities == ("w-1", "?", "edge/1")
    pages = CachedMissHidesRegistration(CachedMissHidesRegistration.Params(), None)
    pages.watch_kv(kv)
    kv.put(0, "provider:gpu:w-2", {"worker_id": "w-2"}, 3.0)
    assert pages.listed(1, "provider:gpu:", None, ("provider:gpu:w-2",), None, 10.0) is False
    assert pages.listed(1, "provider:gpu:", None, (), None, 10.0) is True
    assert pages.first is not None and pages.first[1] == ["w-2"]


def _obs(traces=(), events=(), purges=()) -> Observations:
    return Observations(
        duration=600.0, warmup=0.0, samples=[], requests=None, events=list(events), index_changes=[], kv_stats=None,
        traces=list(traces), purges=list(purges),
    )  # fmt: skip


def _claims(scenario_ttl: float = 60.0) -> ConcurrentLeaderClaims:
    scenario = SimpleNamespace(kv=SimpleNamespace(cache_ttl=scenario_ttl), faults=[])
    return ConcurrentLeaderClaims(ConcurrentLeaderClaims.Params(), scenario)


def _register(t: float, machine: str, worker: str) -> list[MachineEvent]:
    return [MachineEvent(t, "start", machine, 1, ()), MachineEvent(t, "register", machine, 1, (worker,))]


def test_two_claims_are_concurrent_within_one_propagation_window_of_a_live_leader():
    events = _register(0.0, "m/0", "a") + _register(0.0, "m/1", "b")
    claim = lambda t, w: (t, "edge/0", "leadership_claimed", {"worker_id": w})  # noqa: E731
    lead = lambda t, w, on: (t, "m", "leadership", {"worker_id": w, "leader": on})  # noqa: E731
    # b is granted the lead 30 s after a was (a still believes): within the 60 s window
    found = _claims().check(_obs([claim(10.0, "a"), lead(10.1, "a", True), claim(40.0, "b")], events))
    assert found.reached_at == 40.0 and found.entities == ("a", "m/0", "b", "m/1")
    # a stepped down at 100 s, b granted at 150 s: a led 50 s before, within the window
    history = [claim(10.0, "a"), lead(10.1, "a", True), lead(100.0, "a", False), claim(150.0, "b")]
    assert _claims().check(_obs(history, events)).reached_at == 150.0
    # the same, but b granted at 170 s: 70 s after a's lead ended, beyond the window
    history[-1] = claim(170.0, "b")
    assert _claims().check(_obs(history, events)).reached_at is None
    assert _claims(scenario_ttl=80.0).check(_obs(history, events)).reached_at == 170.0
    # a crashed before b's grant: a take-over, not a contest
    crashed = [*events, MachineEvent(30.0, "crash", "m/0", 1, ("a",))]
    assert (
        _claims().check(_obs([claim(10.0, "a"), lead(10.1, "a", True), claim(40.0, "b")], crashed)).reached_at is None
    )


def test_a_purge_counts_only_while_a_partition_is_active():
    partition = SimpleNamespace(action="partition", at=100.0, duration=50.0, target="gpu/1")
    crash = SimpleNamespace(action="crash", at=10.0, target="gpu/0")
    judge = PurgeDuringPartition(PurgeDuringPartition.Params(), SimpleNamespace(faults=[crash, partition]))
    events = _register(0.0, "gpu/1", "w1")
    assert judge.check(_obs(events=events, purges=[(90.0, ("w1",), ("w1",)), (150.0, ("w1",), ())])).reached_at is None
    found = judge.check(_obs(events=events, purges=[(90.0, ("w1",), ()), (120.0, ("w1",), ("w1",))]))
    assert found.reached_at == 120.0 and found.entities == ("w1", "gpu/1")


def test_a_campaign_judges_them_and_a_scenario_may_name_them_with_its_own_properties():
    from rmasim.explore import Campaign

    scenario = fleet("reference", ["single_leader", "breaker_opens"])
    spec = Campaign(scenario, seed=0).plan(0)
    assert [p.name for p in spec.scenario.properties] == ["single_leader", "breaker_opens", *[
        n for n in SIX if n != "breaker_opens"]]  # fmt: skip


def test_the_verdict_line_counts_the_judged_properties_and_the_sometimes_reached_apart():
    from rmasim.report.narrative import story

    result = rmasim.run(fleet("reference", ["single_leader", *SIX]))
    reached = sum(p.reached_at is not None for p in result.properties if p.kind == "sometimes")
    assert story(result).verdict.endswith(f"; 1 property holds; {reached}/6 sometimes reached")


def test_a_lease_granted_to_a_malformed_worker_id_is_judged_not_raised():
    """The baseline grants the lease to whatever JSON a malformed claim carries (found by an explore campaign with
    the attack kinds: malformed_requests against baseline raised TypeError: unhashable type: 'list')."""
    events = _register(0.0, "m/0", "a")
    claim = lambda t, w: (t, "edge/0", "leadership_claimed", {"worker_id": w, "token": 1})  # noqa: E731
    lead = lambda t, w, on: (t, "m", "leadership", {"worker_id": w, "leader": on})  # noqa: E731
    malformed = [True, {"observed": -(2**63), "a:b": "x"}]
    found = _claims().check(_obs([claim(10.0, "a"), lead(10.1, "a", True), claim(40.0, malformed)], events))
    assert found.reached_at == 40.0
    assert "a, live, led less than 60 s before" in found.detail
    # two grants to two malformed ids 30 s apart: a contest like any other (a grant is a lead from its time)
    assert _claims().check(_obs([claim(10.0, malformed), claim(40.0, {"id": 1})], events)).reached_at == 40.0
