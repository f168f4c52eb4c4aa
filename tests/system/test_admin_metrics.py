"""Flaw #12, per-edge metrics: counts, errors and latencies per service, checked against figures worked out by hand
(the Harness's clock moves only when a forward says so) and, end to end, against a run's request log."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rmasim import engine
from rmasim.scenario import Policy, load_scenario
from rmasim.system import Coordinator
from rmasim.system.coordinator import Isolate
from rmasim.system.coordinator.metrics import LATENCY_BOUNDS, ServiceMetrics
from rmasim.system.ops import ConnectError, HttpCall, KVFailure, Now, Request, Response

SCENARIOS = Path(__file__).parent.parent.parent / "scenarios"
METERED = Policy(metrics=True)
GET_METRICS = Request("GET", "/api/admin/metrics", None, (("authorization", "Bearer rmasim-admin-token"),))
"""The metrics as an operator reads them (the reference's ``admin_auth`` needs the admin token)."""
OK = Response(200, {})


def record(wid: str) -> dict:
    return {"id": wid, "tunnel_url": f"https://{wid}.tunnel", "status": "healthy", "last_heartbeat": 1000.0}


@pytest.fixture
def harness(harness):
    """One healthy worker ``a`` serving upload and rag."""
    harness.kv = {"service:upload": ["a"], "service:rag": ["a"], "worker:a": record("a")}
    return harness


def forwards_take(harness, script: list[tuple[float, Any]]) -> Callable[[HttpCall], Any]:
    """Each forward takes the next ``(seconds, answer)``: the clock moves on by ``seconds``, then the answer."""
    pending = list(script)

    def answer(call: HttpCall) -> Any:
        seconds, result = pending.pop(0)
        harness.now += seconds
        return result

    return answer


def proxy(harness, policy: Policy, service: str, isolate: Isolate) -> Response:
    return harness.run(Coordinator(policy).handle(Request("POST", f"/api/service/{service}/x"), isolate))


def test_an_edge_counts_requests_errors_and_latency_per_service(harness):
    """upload: 0.125 s (200), 0.125 s (200), 0.375 s (500), 1.5 s (200); rag: a dead tunnel after 16 s (502).
    upload's mean is 2.125 / 4; its buckets are le 0.25: 2, le 0.5: 1, le 2.5: 1, so the median (rank 2) is 0.25
    and the p99 (rank 3.96) is 2.5. rag's one request is in the le 30 bucket."""
    harness.http = forwards_take(
        harness,
        [(0.125, OK), (0.125, OK), (0.375, Response(500, {})), (1.5, OK), (16.0, ConnectError("refused"))],
    )
    isolate = Isolate()
    statuses = [proxy(harness, METERED, s, isolate).status for s in ("upload",) * 4 + ("rag",)]
    assert statuses == [200, 200, 500, 200, 502]
    resp = harness.run(Coordinator(METERED).handle(GET_METRICS, isolate))
    assert resp == Response(
        200,
        {
            "services": {
                "rag": {
                    "requests": 1,
                    "errors": 1,
                    "error_rate": 1.0,
                    "latency_mean": 16.0,
                    "latency_p50": 30.0,
                    "latency_p99": 30.0,
                },
                "upload": {
                    "requests": 4,
                    "errors": 1,
                    "error_rate": 0.25,
                    "latency_mean": 0.53125,
                    "latency_p50": 0.25,
                    "latency_p99": 2.5,
                },
            }
        },
    )


def test_the_clock_is_read_before_and_after_the_proxy_and_only_with_the_knob(harness):
    """Metrics on: the proxy's own operations between two monotonic readings. Off: exactly the proxy's operations,
    nothing kept in the isolate, and no metrics endpoint."""
    isolate = Isolate()
    proxy(harness, Policy(), "upload", isolate)
    plain = list(harness.log)
    assert Now(monotonic=True) not in plain and "metrics" not in isolate.state
    assert harness.run(Coordinator(Policy()).handle(GET_METRICS, isolate)) == Response(
        404, {"error": "metrics disabled"}
    )
    harness.log.clear()
    proxy(harness, METERED, "upload", Isolate())
    assert harness.log == [Now(monotonic=True), *plain, Now(monotonic=True)]


def test_answers_given_without_a_forward_count_too(harness):
    """A 503 for a service nobody provides, and a 500 for a KV 429 on the route-time purge of a missing worker's
    entry: both errors, both instant."""
    harness.kv["service:rag"] = ["a", "gone"]
    harness.fail["service:rag"] = KVFailure(429, "service:rag")
    isolate = Isolate()
    assert proxy(harness, METERED, "ocr", isolate).status == 503
    on_route = Policy(metrics=True, stale_cleanup="on_route")
    assert proxy(harness, on_route, "rag", isolate) == Response(
        500, {"error": str(KVFailure(429, "service:rag")), "kv_status": 429}
    )
    figures = harness.run(Coordinator(METERED).handle(GET_METRICS, isolate)).body["services"]
    for service in ("ocr", "rag"):
        assert figures[service] == {
            "requests": 1,
            "errors": 1,
            "error_rate": 1.0,
            "latency_mean": 0.0,
            "latency_p50": 0.005,
            "latency_p99": 0.005,
        }


def test_two_isolates_keep_separate_counts(harness):
    """Two edges share nothing: each answers for its own requests only; one that saw none lists no service."""
    first, second, idle = Isolate(), Isolate(), Isolate()
    for _ in range(2):
        proxy(harness, METERED, "upload", first)
    proxy(harness, METERED, "rag", second)

    def requests_at(isolate: Isolate) -> dict[str, int]:
        services = harness.run(Coordinator(METERED).handle(GET_METRICS, isolate)).body["services"]
        return {name: figures["requests"] for name, figures in services.items()}

    assert requests_at(first) == {"upload": 2}
    assert requests_at(second) == {"rag": 1}
    assert requests_at(idle) == {}


@pytest.mark.parametrize(
    ("latency", "bound"),
    [(0.0, 0.005), (0.25, 0.25), (0.2500001, 0.5), (59.9, 60.0), (60.0, 60.0), (90.0, 60.0)],
)
def test_a_latency_lands_in_the_bucket_of_the_first_bound_at_or_above_it(latency, bound):
    """Bounds are inclusive (Prometheus' ``le``); the +Inf bucket is reported as the highest finite bound."""
    metrics = ServiceMetrics()
    metrics.observe(200, latency)
    assert metrics.quantile(0.5) == metrics.quantile(0.99) == bound


def test_the_p99_finds_a_tail_the_median_does_not():
    """98 requests at 10 ms and 2 at 5 s: rank 50 is in le 0.01, rank 99 (past the 98) in le 5."""
    metrics = ServiceMetrics()
    for latency in [0.01] * 98 + [5.0] * 2:
        metrics.observe(200, latency)
    assert (metrics.quantile(0.5), metrics.quantile(0.99)) == (0.01, 5.0)


def _order_statistic_bound(latencies: list[float], q: float) -> float:
    """The bound of the bucket holding the ceil(q x n)-th smallest latency, the sample the estimate stands for."""
    kth = sorted(latencies)[math.ceil(q * len(latencies)) - 1]
    return min(next(bound for bound in LATENCY_BOUNDS if kth <= bound), LATENCY_BOUNDS[-2])


@pytest.mark.parametrize("preset", ["baseline", "reference"])
def test_each_edges_metrics_match_its_requests_in_the_run_log(preset, harness, simulations):
    """service_crash, shortened, the rag container crashing at 1 m, two edges: per edge and service, the isolate's
    counts equal the log's. A request is logged when its handler returns, in the same step as it is counted, so a
    request still in flight at the end is in neither."""
    runs = simulations
    overrides = {
        "duration": "3m",
        "faults.0.at": "1m",
        "coordinator.preset": preset,
        "coordinator.metrics": True,
        "coordinator.edges": 2,
    }
    scenario = load_scenario(SCENARIOS / "service_crash.yaml").with_overrides(overrides)
    result = engine.run(scenario)
    (sim,) = runs
    log = result.requests
    errors = 0
    for edge in sim.edges:
        services = harness.run(Coordinator(scenario.policy).handle(GET_METRICS, edge.isolate)).body["services"]
        at_edge = log[log.edge == edge.index]
        assert set(services) == set(at_edge.service.unique()) == {"upload", "rag"}
        for name, figures in services.items():
            rows = at_edge[at_edge.service == name]
            latencies = rows.latency.tolist()
            assert figures["requests"] == len(rows)
            assert figures["errors"] == int((rows.status >= 500).sum())
            assert figures["latency_mean"] == pytest.approx(rows.latency.mean(), rel=1e-9)
            assert figures["latency_p50"] == _order_statistic_bound(latencies, 0.5)
            assert figures["latency_p99"] == _order_statistic_bound(latencies, 0.99)
            errors += figures["errors"]
    if preset == "baseline":
        assert errors > 0  # the dead rag container answers 502 (reference retries them elsewhere)
