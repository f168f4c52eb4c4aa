"""Flaw #6 (versions) and flaw #9 (breakers) through the proxy, driven by hand: version rules, the 412 guard,
versions in heartbeats and admin services, and shedding when every breaker is open."""

from __future__ import annotations

from typing import Any

import pytest

from rmasim.scenario import Policy
from rmasim.system import Coordinator
from rmasim.system.coordinator import Isolate
from rmasim.system.ops import EXPECTED_VERSION, HttpCall, Request, Response, Trace

PROXY = Request("POST", "/api/service/upload/x")


def record(wid: str, version: str) -> dict[str, Any]:
    return {
        "id": wid,
        "tunnel_url": f"https://{wid}.tunnel",
        "status": "healthy",
        "last_heartbeat": 1000.0,
        "services": [{"name": "upload", "version": version, "port": 8103}],
    }


FLEET = {
    "service:upload": ["a", "b", "c"],
    "worker:a": record("a", "1.0"),
    "worker:b": record("b", "1.0"),
    "worker:c": record("c", "1.1"),
}


def routing(**knobs: Any) -> Coordinator:
    return Coordinator(Policy.model_validate({"version_routing": True, **knobs}))


def served_by(harness, coordinator: Coordinator, randoms: list[float]) -> str:
    harness.randoms = list(randoms)
    harness.http = lambda call: Response(200, {"served_by": call.url})
    resp = harness.run(coordinator.handle(PROXY, Isolate()))
    return resp.body["served_by"]


def test_pin_routes_only_to_the_pinned_version_and_names_it(harness):
    harness.kv = dict(FLEET)
    coordinator = routing(versions={"upload": {"pin": "1.1"}})
    assert served_by(harness, coordinator, [0.0]) == "https://c.tunnel"
    forwards = [op for op in harness.log if isinstance(op, HttpCall)]
    assert forwards[-1].headers == ((EXPECTED_VERSION, "1.1"),)
    harness.kv["worker:c"] = record("c", "1.0")
    assert harness.run(coordinator.handle(PROXY, Isolate())).status == 503  # no provider of 1.1 is left


@pytest.mark.parametrize(("draw", "expected"), [(0.099, "https://c.tunnel"), (0.1, "https://a.tunnel")])
def test_a_canary_split_draws_the_side_by_weight(harness, draw, expected):
    """Weight 0.1: a draw below 0.1 goes to the canary (c), otherwise to the others (a, b; the balancer's draw 0
    picks the first)."""
    harness.kv = dict(FLEET)
    coordinator = routing(versions={"upload": {"canary": {"version": "1.1", "weight": 0.1}}})
    assert served_by(harness, coordinator, [draw, 0.0]) == expected


def test_a_canary_with_one_side_empty_takes_everyone(harness):
    harness.kv = {**FLEET, "worker:c": record("c", "1.0")}
    coordinator = routing(versions={"upload": {"canary": {"version": "1.1", "weight": 0.1}}})
    assert served_by(harness, coordinator, [0.99]) == "https://c.tunnel"  # the balancer's draw: no split draw


def test_without_version_routing_the_rules_are_ignored(harness):
    harness.kv = dict(FLEET)
    coordinator = Coordinator(Policy.model_validate({"versions": {"upload": {"pin": "1.1"}}}))
    assert served_by(harness, coordinator, [0.0]) == "https://a.tunnel"
    assert all(op.headers == () for op in harness.log if isinstance(op, HttpCall))


def test_a_container_refusing_its_version_is_skipped_without_spending_a_retry(harness):
    """b's record still says 1.0 but its container was upgraded: it answers 412, and the proxy goes on to a
    at once (no backoff), with retries off."""
    harness.kv = dict(FLEET)
    harness.randoms = [0.5, 0.0]  # pick b among (a, b), then a
    calls = []

    def answer(call: HttpCall) -> Response:
        calls.append(call.url)
        return Response(412, {}) if call.url == "https://b.tunnel" else Response(200, {"served_by": call.url})

    harness.http = answer
    resp = harness.run(routing(versions={"upload": {"pin": "1.0"}}).handle(PROXY, Isolate()))
    assert resp.status == 200 and calls == ["https://b.tunnel", "https://a.tunnel"]
    harness.http = lambda call: Response(412, {})
    harness.randoms = [0.0, 0.0]
    assert harness.run(routing(versions={"upload": {"pin": "1.0"}}).handle(PROXY, Isolate())).status == 503


def test_heartbeats_carry_versions_and_admin_services_shows_them(harness):
    policy = Policy(version_routing=True)
    harness.kv = dict(FLEET)
    body = {"worker_id": "b", "versions": {"upload": "1.1"}}
    assert harness.run(Coordinator(policy).handle(Request("POST", "/api/worker/heartbeat", body))).status == 200
    assert harness.kv["worker:b"]["services"] == [{"name": "upload", "version": "1.1", "port": 8103}]
    resp = harness.run(Coordinator(policy).handle(Request("GET", "/api/admin/services")))
    assert resp.body["versions"] == {"upload": {"1.0": ["a"], "1.1": ["b", "c"]}}
    baseline = harness.run(Coordinator(Policy()).handle(Request("GET", "/api/admin/services")))
    assert baseline.body == {"services": {"upload": ["a", "b", "c"]}}


def test_the_baseline_heartbeat_does_not_update_versions(harness):
    harness.kv = dict(FLEET)
    body = {"worker_id": "b", "versions": {"upload": "1.1"}}
    harness.run(Coordinator(Policy()).handle(Request("POST", "/api/worker/heartbeat", body)))
    assert harness.kv["worker:b"]["services"][0]["version"] == "1.0"


def test_every_breaker_open_sheds_the_request_and_the_opening_is_traced(harness):
    """min 4 calls at 50%: four 500s from the only provider open its breaker; the next request is shed."""
    harness.kv = {"service:upload": ["a"], "worker:a": record("a", "1.0")}
    harness.http = lambda call: Response(500, {})
    coordinator = Coordinator(Policy(circuit_breaker=True, breaker_min_calls=4))
    isolate = Isolate()
    statuses = [harness.run(coordinator.handle(PROXY, isolate)).status for _ in range(5)]
    assert statuses == [500, 500, 500, 500, 503]
    shed = harness.run(coordinator.handle(PROXY, isolate))
    assert shed.body["reason"] == "breaker_open"
    opened = [op for op in harness.log if isinstance(op, Trace) and op.event == "breaker_opened"]
    assert [op.fields for op in opened] == [{"worker_id": "a", "service": "upload", "failures": 4, "calls": 4}]
    assert sum(isinstance(op, HttpCall) for op in harness.log) == 4
    harness.now += 60.0  # open_for: half-open, a trial goes through
    harness.http = lambda call: Response(200, {})
    assert harness.run(coordinator.handle(PROXY, isolate)).status == 200


def test_a_canary_side_that_cannot_serve_falls_back_to_the_other_side(harness):
    """The draw sends the request to the 1.0 side, whose providers (a, b) both refuse for their version: the 1.1
    side (c) serves it; a pin has no such fallback (above)."""
    harness.kv = dict(FLEET)
    harness.randoms = [0.5, 0.0, 0.0, 0.0]
    harness.http = lambda call: Response(200, {"served_by": call.url}) if "c." in call.url else Response(412, {})
    coordinator = routing(versions={"upload": {"canary": {"version": "1.1", "weight": 0.1}}})
    assert harness.run(coordinator.handle(PROXY, Isolate())).body == {"served_by": "https://c.tunnel"}
