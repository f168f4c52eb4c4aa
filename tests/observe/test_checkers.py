"""Checkers on small hand-made histories, with whole expected results."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rmasim.observe import CHECKERS, MachineEvent, Observations, RequestLog, SampleView, classify
from rmasim.observe.kv_cost import monthly_cost
from rmasim.observe.pollution import measure_pollution
from rmasim.observe.purge import purge_times
from rmasim.system import registry_snapshot


def observations(**kw) -> Observations:
    base = dict(
        duration=600.0,
        warmup=0.0,
        samples=[],
        requests=RequestLog(),
        events=[],
        index_changes=[],
        kv_stats=None,
    )
    base.update(kw)
    return Observations(**base)


def test_pollution_of_one_sample():
    store = {
        "service:upload": ["a", "dead", "b"],
        "service:rag": ["a", "b"],
        "service:ghost": ["dead"],
        "worker:a": {"id": "a"},
        "worker:dead": {"id": "dead"},
    }
    # a serves upload only (its rag container is down); b serves both; "dead" is not live
    serving = {"a": frozenset({"upload"}), "b": frozenset({"upload", "rag"})}
    view = SampleView(10.0, registry_snapshot(store), serving)
    assert measure_pollution(view) == {
        "pollution": 3 / 6,  # (upload, dead), (rag, a), (ghost, dead)
        "index_entries": 6,
        "dead_entries": 3,
        "stale_records": 1,
        "phantom_services": 1,
        "live_workers": 2,
    }


def test_pollution_summary_uses_samples_after_warmup():
    rows = [
        {"t": 5.0, "pollution": 0.9, "dead_entries": 9, "stale_records": 9, "phantom_services": 9},
        {"t": 10.0, "pollution": 0.0, "dead_entries": 0, "stale_records": 0, "phantom_services": 0},
        {"t": 15.0, "pollution": 0.5, "dead_entries": 2, "stale_records": 1, "phantom_services": 0},
    ]
    summary = CHECKERS["pollution"].summarize(observations(samples=rows, warmup=10.0))
    assert summary == {
        "pollution.final": 0.5,
        "pollution.max": 0.5,
        "pollution.mean": 0.25,
        "registry.dead_entries.final": 2,
        "registry.stale_records.final": 1,
        "registry.phantom_services.final": 0,
    }


def test_purge_times_from_index_changes():
    events = [
        MachineEvent(100.0, "crash", "gpu/0", 1, ("w0",)),
        MachineEvent(200.0, "crash", "gpu/1", 1, ("w1",)),
        MachineEvent(250.0, "crash", "gpu/2", 1, ()),  # crashed before it registered: not counted
        MachineEvent(260.0, "crash", "gpu/4", 1, ("w4",)),  # registered, but no index listed it: not counted
        MachineEvent(300.0, "stop", "gpu/3", 1, ("w3",)),  # graceful: not a crash
    ]
    changes = [
        (0.0, frozenset({"w0", "w1", "w3"})),
        (190.0, frozenset({"w1", "w3"})),  # w0 purged 90 s after its crash
    ]
    obs = observations(events=events, index_changes=changes)
    assert purge_times(obs) == [90.0, None]
    assert CHECKERS["purge"].summarize(obs) == {
        "purge.crashes": 2,
        "purge.never": 1,
        "purge.time_max": 90.0,
        "purge.time_mean": 90.0,
        "purge.swept": 0,
        "purge.live_swept": 0,
    }


def _record(service, t0, t1, status, forward, attempts=1, target="gpu/0", broken=None, version=None, reason=None):
    return SimpleNamespace(
        service=service,
        edge=0,
        t_arrival=t0,
        t_done=t1,
        status=status,
        forward=forward,
        attempts=attempts,
        target=target,
        target_up=True,
        target_broken=broken,
        version=version,
        reason=reason,
        refused=0,
    )


def test_routing_summary_counts_outcomes_and_latency_after_warmup():
    log = RequestLog()
    history = [
        _record("upload", 1.0, 9.0, 200, "ok"),  # before warmup: ignored
        _record("upload", 10.0, 10.5, 200, "ok"),
        _record("upload", 11.0, 12.5, 200, "ok"),
        _record("upload", 12.0, 27.0, 502, "connect_error"),
        _record("rag", 13.0, 13.0, 503, None, attempts=0, target=None),
        _record("rag", 14.0, 64.0, 504, "timeout", attempts=2),
        _record("rag", 15.0, 15.0, 503, None, attempts=0, target=None, reason="breaker_open"),
    ]
    for r in history:
        log.append(r, classify(r.status, r.forward, r.reason))
    summary = CHECKERS["routing"].summarize(observations(requests=log, warmup=10.0))
    assert summary == {
        "routing.requests": 6,
        "routing.success_rate": 2 / 6,
        "routing.attempts_per_request": 5 / 6,
        "routing.retries_per_request": 1 / 6,
        "routing.failures.no_provider": 1,
        "routing.failures.dead_target": 1,
        "routing.failures.timeout": 1,
        "routing.failures.service_error": 0,
        "routing.failures.shed": 1,
        "routing.failures.coordinator_error": 0,
        "routing.failures.overloaded": 0,
        "latency.mean": 1.0,
        "latency.p50": 1.0,
        "latency.p95": pytest.approx(0.5 + 0.95),
        "latency.p99": pytest.approx(0.5 + 0.99),
    }
    frame = log.to_frame()
    assert list(frame["outcome"]) == ["ok", "ok", "ok", "dead_target", "no_provider", "timeout", "shed"]
    assert list(frame["latency"]) == [8.0, 0.5, 1.5, 15.0, 0.0, 50.0, 0.0]


@pytest.mark.parametrize(
    ("status", "forward", "outcome"),
    [
        (200, "ok", "ok"),
        (503, None, "no_provider"),
        (502, "connect_error", "dead_target"),
        (504, "timeout", "timeout"),
        (502, "service_error", "service_error"),
        (500, None, "coordinator_error"),
    ],
)
def test_classify(status, forward, outcome):
    assert classify(status, forward) == outcome


def test_monthly_cost_follows_the_price_list():
    """Paid plan: 10 M reads and 1 M writes/deletes/lists included a month; then $0.50/M reads, $5/M others."""
    assert monthly_cost({"read": 0, "write": 0, "delete": 0, "list": 0}) == 0.0
    # 1 M writes a day -> 30 M a month -> 29 M billable x $5
    assert monthly_cost({"read": 0, "write": 1e6, "delete": 0, "list": 0}) == pytest.approx(145.0)
    # 2 M reads a day -> 60 M -> 50 M billable x $0.50
    assert monthly_cost({"read": 2e6, "write": 0, "delete": 0, "list": 0}) == pytest.approx(25.0)


def test_kv_summary_per_day_and_free_tier():
    stats = SimpleNamespace(
        counts={("read", "worker"): 40_000, ("write", "worker"): 500, ("write", "service"): 100},
        rate_limited=3,
        total=lambda kind: {"read": 40_000, "write": 600, "delete": 0, "list": 0}[kind],
    )
    summary = CHECKERS["kv"].summarize(observations(kv_stats=stats, duration=43_200.0))  # half a day
    assert summary["kv.reads_per_day"] == 80_000
    assert summary["kv.writes_per_day"] == 1_200
    assert summary["kv.writes.worker"] == 500 and summary["kv.writes.service"] == 100
    assert summary["cost.free_tier_ratio"] == pytest.approx(1.2)  # writes: 1200 / 1000
    assert summary["cost.free_tier_exceeded"] == 1
    assert summary["kv.rate_limited"] == 3


def test_unregister_cleanup_at_the_end():
    final = registry_snapshot({"service:upload": ["w1", "w2"], "service:rag": ["w1"], "worker:w2": {"id": "w2"}})
    events = [MachineEvent(5.0, "stop", "gpu/0", 1, ("w1",)), MachineEvent(6.0, "stop", "gpu/1", 1, ("w2",))]
    summary = CHECKERS["unregister"].summarize(observations(events=events, final_snapshot=final))
    assert summary == {"unregister.stops": 2, "unregister.records_left": 1, "unregister.index_entries_left": 3}


def test_checker_registry_refuses_duplicates():
    from rmasim.observe import Checker, register_checker

    class Again(Checker):
        name = "pollution"

    with pytest.raises(ValueError, match="duplicate checker"):
        register_checker(Again)


def test_duplicates_count_records_beyond_one_per_tunnel():
    from rmasim.observe.duplicates import count_duplicates

    workers = {
        "a1": {"tunnel_url": "https://a"},
        "a2": {"tunnel_url": "https://a"},
        "a3": {"tunnel_url": "https://a"},
        "b1": {"tunnel_url": "https://b"},
    }
    assert count_duplicates(workers) == 2
    rows = [
        {"t": 5.0, "duplicate_records": 0},
        {"t": 10.0, "duplicate_records": 3},
        {"t": 15.0, "duplicate_records": 1},
    ]
    assert CHECKERS["duplicates"].summarize(observations(samples=rows)) == {
        "registry.duplicates.max": 3,
        "registry.duplicates.final": 1,
    }


def test_purge_ends_when_a_stable_id_is_reissued_to_the_next_incarnation():
    """Fingerprint identity: the restarted machine re-registers the same id at 130 s; the index entry is live again."""
    events = [
        MachineEvent(100.0, "crash", "gpu/0", 1, ("w0",)),
        MachineEvent(120.0, "start", "gpu/0", 2, ()),
        MachineEvent(130.0, "register", "gpu/0", 2, ("w0",)),
    ]
    changes = [(0.0, frozenset({"w0"}))]
    assert purge_times(observations(events=events, index_changes=changes)) == [30.0]


def test_swept_and_live_swept_count_distinct_workers():
    """A worker purged twice (a sweep that failed half-way, then the next one) counts once."""
    obs = observations(
        purges=[(120.0, ("a", "b"), ()), (480.0, ("c", "d", "e"), ("c", "d", "e")), (540.0, ("c",), ("c",))]
    )
    summary = CHECKERS["purge"].summarize(obs)
    assert (summary["purge.swept"], summary["purge.live_swept"]) == (5, 3)


def test_service_figures_per_service_and_requests_to_broken_containers():
    log = RequestLog()
    history = [
        _record("upload", 1.0, 2.0, 200, "ok", broken=False),  # before warmup: ignored
        _record("upload", 10.0, 10.5, 200, "ok", broken=False),
        _record("upload", 11.0, 11.5, 500, "service_error", broken=True),
        _record("rag", 12.0, 13.0, 200, "ok", broken=False),
        _record("rag", 20.0, 30.0, 504, "timeout", broken=True),
        _record("rag", 21.0, 21.0, 503, None, attempts=0, target=None),
    ]
    for r in history:
        log.append(r, classify(r.status, r.forward))
    summary = CHECKERS["services"].summarize(observations(requests=log, warmup=10.0))
    assert summary == {
        "service.rag.requests": 3,
        "service.rag.success_rate": pytest.approx(1 / 3),
        "service.rag.latency.p99": 1.0,
        "service.upload.requests": 2,
        "service.upload.success_rate": 0.5,
        "service.upload.latency.p99": 0.5,
        "routing.to_broken": 2,
        "routing.broken_exposure": 9.0,  # from 11.0 to 20.0
        "routing.last_to_broken": 20.0,
    }


def test_phase_figures_recount_the_per_request_keys_over_the_phase_window():
    """Phase [11, 13.5): the requests arriving at 11, 12 and 13 only; the run-wide keys are unchanged."""
    log = RequestLog()
    for r in [
        _record("upload", 10.0, 10.5, 200, "ok", version="1.0"),
        _record("upload", 11.0, 12.5, 200, "ok", version="1.1"),
        _record("upload", 12.0, 27.0, 502, "connect_error"),
        _record("upload", 13.0, 13.25, 200, "ok", version="1.0"),
        _record("upload", 14.0, 14.5, 200, "ok", version="1.1"),
    ]:
        log.append(r, classify(r.status, r.forward, r.reason))
    obs = observations(requests=log, warmup=10.0, phases={"mid": (11.0, 13.5)})
    summary = CHECKERS["phases"].summarize(obs)
    assert summary["phase.mid.routing.requests"] == 3
    assert summary["phase.mid.routing.success_rate"] == 2 / 3
    assert summary["phase.mid.latency.mean"] == (1.5 + 0.25) / 2
    assert summary["phase.mid.version.upload.1.1.share"] == 0.5
    assert summary["phase.mid.service.upload.requests"] == 3
    assert not any(key.startswith("phase.mid.phase.") for key in summary)  # phases do not nest
    assert {k.split(".")[2] for k in summary} == {"routing", "latency", "service", "version", "goodput"}
    whole = CHECKERS["versions"].summarize(obs)
    assert whole == {"version.refused": 0, "version.upload.1.0.share": 0.5, "version.upload.1.1.share": 0.5}


def test_resilience_reads_the_breaker_and_ejection_traces():
    traces = [
        (100.0, "edge-0", "outlier_ejected", {"worker_id": "a", "service": "rag"}),
        (130.0, "edge-0", "breaker_opened", {"worker_id": "a", "service": "rag", "failures": 27, "calls": 54}),
        (200.0, "edge-0", "breaker_opened", {"worker_id": "a", "service": "rag", "failures": 10, "calls": 10}),
    ]
    assert CHECKERS["resilience"].summarize(observations(traces=traces)) == {
        "breaker.opened": 2,
        "breaker.first_open_at": 130.0,
        "breaker.first_open_failures": 27,
        "outlier.ejections": 1,
        "outlier.first_ejection_at": 100.0,
    }
    assert CHECKERS["resilience"].summarize(observations())["breaker.first_open_failures"] is None
