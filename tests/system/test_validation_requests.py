"""Issue 15, build 1: malformed request bodies, in every preset, and the reference's validation rules.

Every preset: no body, however malformed, raises out of ``Coordinator.handle``; the baseline and seed-fixes
answer what the deployed Worker answers to an uncaught exception (a 500 and a ``worker_exception`` trace, counted
in ``coordinator.errors``), and a forged load goes through inverse-load with JavaScript's arithmetic. The reference
(``validate_requests``) refuses each kind of bad input with a 400 naming the field before any operation, and a
service nobody registers costs an edge no memory beyond a fixed bound.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rmasim
from rmasim.report import summary_json
from rmasim.scenario import PRESETS
from rmasim.system import Coordinator
from rmasim.system.coordinator import Isolate
from rmasim.system.coordinator.balancers import js_inverse_weight, js_weighted_pick
from rmasim.system.coordinator.validation import MAX_ROUTE_TABLES, MAX_SERVICES, parse_heartbeat
from rmasim.system.ops import WORKER_EXCEPTION, Request, Response, Trace

PRESET_NAMES = ("baseline", "seed-fixes", "reference")
REFERENCE = PRESETS["reference"].policy
PROTECTIONS = ("agent_auth", "admin_auth", "epoch_checks", "tunnel_validation", "rate_limits")
VALIDATING = REFERENCE.model_copy(update=dict.fromkeys(PROTECTIONS, False))
"""The reference with validation alone: its protections of build 2 (tests/system/test_security.py) off, so an
unsigned call is not a 401 and the harness's tunnel URLs are not resolved."""
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

# --- well-formed bodies, as the agent and the elector send them ----------------------------------------------

REGISTER = {
    "tunnel_url": "https://m1.tunnel",
    "services": [{"name": "upload", "version": "1.0", "port": 8103}, {"name": "rag", "version": "2", "port": 8102}],
    "capabilities": {},
    "wants_heartbeat_leadership": True,
    "fingerprint": "abc123",
}
HEARTBEAT = {
    "worker_id": "worker-abc123",
    "status": "healthy",
    "current_load": 0.25,
    "available_memory": "7.5GB",
    "service_health": [{"name": "upload", "status": "healthy"}],
    "versions": {"upload": "1.0"},
}
UNREGISTER = {"worker_id": "worker-abc123"}
LEASE = {"worker_id": "worker-abc123", "observed": None, "release": False}
TEMPLATES = {
    "/api/worker/register": REGISTER,
    "/api/worker/heartbeat": HEARTBEAT,
    "/api/worker/unregister": UNREGISTER,
    "/api/leader": LEASE,
}

# --- the strategy of malformed bodies ------------------------------------------------------------------------

_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
junk = st.recursive(
    _leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)  # fmt: skip
bad_ids = st.sampled_from(["w:1", "worker-a/../b", "", "x" * 500, "worker-1:evil", "a\nb", 5, None, ["w"], {}])
bad_loads = st.sampled_from([-0.1, -1, 1.5, math.nan, math.inf, -math.inf, 1e308, 10**400, "0.5", "1", True, [0.5]])
bad_names = st.sampled_from(["Upload", "a:b", "../admin", "", "x" * 100, 7, None, {"name": "upload"}])
huge_lists = st.sampled_from([[dict(REGISTER["services"][0], name=f"s{i}") for i in range(1000)], [None] * 1000])
non_json = st.sampled_from(["not json {", b"\x00\xff", "", 42, 3.5, None, [], [1, 2]])


@st.composite
def mutated(draw: st.DrawFn, path: str) -> Any:
    """A well-formed body of ``path`` with a few fields replaced, removed or added."""
    body: dict[str, Any] = dict(TEMPLATES[path])
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from([*body, "extra", "services", "current_load", "worker_id", "observed"]))
        if draw(st.booleans()) and key in body:
            del body[key]
        else:
            body[key] = draw(junk | bad_ids | bad_loads | huge_lists | st.lists(junk | bad_names, max_size=3))
    services = body.get("services")
    if draw(st.booleans()) and isinstance(services, list) and services and isinstance(services[0], dict):
        body["services"] = [{**services[0], "name": draw(bad_names)}]
    return body


def malformed(path: str) -> st.SearchStrategy[Any]:
    return non_json | junk | mutated(path)


TRIED: Counter[str] = Counter()
"""Malformed bodies sent per preset by the property test (each example: one per POST route, then a proxy call)."""


def registered_kv() -> dict[str, Any]:
    """A store where ``worker-abc123`` is registered for upload (both layouts' keys), so handlers go deep."""
    record = {
        "id": "worker-abc123",
        "tunnel_url": "https://m1.tunnel",
        "services": [{"name": "upload", "version": "1.0", "port": 8103}],
        "status": "healthy",
        "current_load": 0.1,
        "last_heartbeat": 1000.0,
        "epoch": "e1",
    }
    return {
        "worker:worker-abc123": record,
        "worker_ids": {"worker-abc123": "e1"},
        "service:upload": {"worker-abc123": "e1"},
    }


def serve(harness: Any, coordinator: Coordinator, req: Request, isolate: Isolate) -> Response:
    response = harness.run(coordinator.handle(req, isolate), max_ops=100_000)
    assert isinstance(response, Response)
    if response.status == 500 and (response.body or {}).get("worker_exception"):
        assert any(isinstance(op, Trace) and op.event == WORKER_EXCEPTION for op in harness.log)
    return response


@pytest.mark.parametrize("preset", PRESET_NAMES)
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_malformed_body_raises_out_of_any_handler(preset, data, harness):
    """Each example sends a malformed body to every POST route in turn (on one store: a junk registration the
    baseline stored is read by the next handler), then routes a request for upload: 0 exceptions escape. The
    reference answers none of them with a 500: everything malformed is refused before a handler runs."""
    coordinator = Coordinator(PRESETS[preset].policy)
    harness = type(harness)(registered_kv())
    isolate = Isolate()
    for path in TEMPLATES:
        body = data.draw(malformed(path), label=path)
        response = serve(harness, coordinator, Request("POST", path, body), isolate)
        TRIED[preset] += 1
        if preset == "reference":
            assert response.status != 500, (path, body, response)
    harness.log.clear()
    response = serve(harness, coordinator, Request("POST", "/api/service/upload/process"), isolate)
    if preset == "reference":
        assert response.status != 500, response


def test_the_property_test_tried_bodies_in_every_preset():
    """Runs after the property test (file order): each preset was sent malformed bodies."""
    if not TRIED:
        pytest.skip("run with the property test")
    print(f"malformed bodies tried per preset: {dict(TRIED)}")
    assert set(TRIED) == set(PRESET_NAMES) and min(TRIED.values()) >= 60 * len(TEMPLATES)


@pytest.mark.parametrize("preset", ["baseline", "seed-fixes"])
def test_baseline_and_seed_fixes_answer_a_malformed_body_as_a_worker_exception(preset, harness):
    """The Worker's answer to an uncaught exception: a 500 and a ``worker_exception`` trace (coordinator.errors)."""
    harness = type(harness)()
    body = {"tunnel_url": "https://x", "services": ["upload"]}  # a name where an object was expected
    response = harness.run(Coordinator(PRESETS[preset].policy).handle(Request("POST", "/api/worker/register", body)))
    assert response.status == 500 and response.body["worker_exception"] is True
    assert response.body["error"].startswith("TypeError: ")
    traces = [op for op in harness.log if isinstance(op, Trace) and op.event == WORKER_EXCEPTION]
    assert [t.fields["path"] for t in traces] == ["/api/worker/register"]
    assert "Traceback" in traces[0].fields["stack"]


# --- the reference's rules: one case per rule, the status and the field -----------------------------------------


def _with(template: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**template, **changes}


def _without(template: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in template.items() if k != key}


_OFFER = REGISTER["services"][0]
RULES = {
    "body is not an object": ("/api/worker/register", "not json {", "body"),
    "body is a list": ("/api/worker/heartbeat", [HEARTBEAT], "body"),
    "unknown field": ("/api/worker/heartbeat", _with(HEARTBEAT, admin=True), "admin"),
    "tunnel_url missing": ("/api/worker/register", _without(REGISTER, "tunnel_url"), "tunnel_url"),
    "tunnel_url not a string": ("/api/worker/register", _with(REGISTER, tunnel_url=["x"]), "tunnel_url"),
    "services not a list": ("/api/worker/register", _with(REGISTER, services={"upload": 1}), "services"),
    "too many services": (
        "/api/worker/register",
        _with(REGISTER, services=[_with(_OFFER, name=f"s{i}") for i in range(MAX_SERVICES + 1)]),
        "services",
    ),
    "service not an object": ("/api/worker/register", _with(REGISTER, services=["upload"]), "services[0]"),
    "service name with a slash": (
        "/api/worker/register", _with(REGISTER, services=[_with(_OFFER, name="up/load")]), "services[0].name",
    ),
    "service name upper case": (
        "/api/worker/register", _with(REGISTER, services=[_with(_OFFER, name="Upload")]), "services[0].name",
    ),
    "service listed twice": ("/api/worker/register", _with(REGISTER, services=[_OFFER, _OFFER]), "services"),
    "version too long": (
        "/api/worker/register", _with(REGISTER, services=[_with(_OFFER, version="1" * 65)]), "services[0].version",
    ),
    "version not a string": (
        "/api/worker/register", _with(REGISTER, services=[_with(_OFFER, version=1.0)]), "services[0].version",
    ),
    "port out of range": (
        "/api/worker/register", _with(REGISTER, services=[_with(_OFFER, port=70000)]), "services[0].port",
    ),
    "fingerprint with a colon": ("/api/worker/register", _with(REGISTER, fingerprint="a:b"), "fingerprint"),
    "capability not a scalar": ("/api/worker/register", _with(REGISTER, capabilities={"gpu": {}}), "capabilities"),
    "leadership flag not a boolean": (
        "/api/worker/register", _with(REGISTER, wants_heartbeat_leadership="yes"), "wants_heartbeat_leadership",
    ),
    "worker_id missing": ("/api/worker/heartbeat", _without(HEARTBEAT, "worker_id"), "worker_id"),
    "worker_id with a colon": ("/api/worker/heartbeat", _with(HEARTBEAT, worker_id="worker:x"), "worker_id"),
    "worker_id with a slash": ("/api/worker/heartbeat", _with(HEARTBEAT, worker_id="worker/x"), "worker_id"),
    "worker_id too long": ("/api/worker/heartbeat", _with(HEARTBEAT, worker_id="w" * 161), "worker_id"),
    "load negative": ("/api/worker/heartbeat", _with(HEARTBEAT, current_load=-0.1), "current_load"),
    "load above one": ("/api/worker/heartbeat", _with(HEARTBEAT, current_load=1.5), "current_load"),
    "load NaN": ("/api/worker/heartbeat", _with(HEARTBEAT, current_load=math.nan), "current_load"),
    "load infinite": ("/api/worker/heartbeat", _with(HEARTBEAT, current_load=math.inf), "current_load"),
    "load huge integer": ("/api/worker/heartbeat", _with(HEARTBEAT, current_load=10**400), "current_load"),
    "load a string": ("/api/worker/heartbeat", _with(HEARTBEAT, current_load="0.5"), "current_load"),
    "load a boolean": ("/api/worker/heartbeat", _with(HEARTBEAT, current_load=True), "current_load"),
    "status unknown": ("/api/worker/heartbeat", _with(HEARTBEAT, status="pwned"), "status"),
    "memory a list": ("/api/worker/heartbeat", _with(HEARTBEAT, available_memory=[1]), "available_memory"),
    "health report too long": (
        "/api/worker/heartbeat",
        _with(HEARTBEAT, service_health=[{"name": f"s{i}", "status": "healthy"} for i in range(MAX_SERVICES + 1)]),
        "service_health",
    ),
    "health status unknown": (
        "/api/worker/heartbeat",
        _with(HEARTBEAT, service_health=[{"name": "upload", "status": "great"}]),
        "service_health[0].status",
    ),
    "versions with a bad service name": ("/api/worker/heartbeat", _with(HEARTBEAT, versions={"a:b": "1"}), "versions"),
    "epoch with a slash": ("/api/worker/unregister", _with(UNREGISTER, epoch="e/1"), "epoch"),
    "unregister worker_id nested": ("/api/worker/unregister", {"worker_id": {"$ne": None}}, "worker_id"),
    "lease caller missing": ("/api/leader", _without(LEASE, "worker_id"), "worker_id"),
    "lease observed not an object": ("/api/leader", _with(LEASE, observed="x"), "observed"),
    "lease token negative": ("/api/leader", _with(LEASE, observed={"holder": None, "token": -1}), "observed.token"),
    "lease release not a boolean": ("/api/leader", _with(LEASE, release=1), "release"),
}  # fmt: skip


@pytest.mark.parametrize(("path", "body", "field"), list(RULES.values()), ids=list(RULES))
def test_the_reference_refuses_each_kind_of_bad_input_with_a_400_before_any_operation(path, body, field, harness):
    harness = type(harness)(registered_kv())
    response = harness.run(Coordinator(REFERENCE).handle(Request("POST", path, body)))
    assert response.status == 400
    assert response.body["field"] == field
    assert isinstance(response.body["error"], str) and response.body["error"]
    assert harness.log == []  # refused before anything was read or written


@pytest.mark.parametrize("path", list(TEMPLATES))
def test_the_reference_accepts_the_well_formed_bodies(path, harness):
    harness = type(harness)(registered_kv())
    response = harness.run(Coordinator(VALIDATING).handle(Request("POST", path, TEMPLATES[path])))
    assert response.status == 200, response


def test_the_load_bound_follows_the_load_signal():
    """``load_signal: queue`` reports requests in flight per slot: above 1 is a figure, not a forgery."""
    queue = REFERENCE.model_copy(update={"load_signal": "queue"})
    assert parse_heartbeat(_with(HEARTBEAT, current_load=3.5), queue).current_load == 3.5
    with pytest.raises(ValueError, match="current_load"):
        parse_heartbeat(_with(HEARTBEAT, current_load=3.5), REFERENCE)


# --- unknown service names ---------------------------------------------------------------------------------------


def _sizes(isolate: Isolate) -> tuple[int, ...]:
    tables = isolate.state.get("route_tables", {})
    metrics = isolate.state.get("metrics")
    return (
        len(isolate.state),
        len(tables),
        len(metrics.services) if metrics is not None else 0,
        len(isolate._derived),
    )


def test_a_service_name_that_can_never_be_registered_is_a_404_that_reads_and_keeps_nothing(harness):
    harness = type(harness)(registered_kv())
    isolate = Isolate()
    coordinator = Coordinator(VALIDATING)
    for name in ("Upload", "a:b", "..", "x" * 64, "%2e%2e", "up load"):
        response = harness.run(coordinator.handle(Request("POST", f"/api/service/{name}/process"), isolate))
        assert response.status == 404 and response.body["field"] == "service"
    assert harness.log == []
    assert isolate.state == {} and isolate._derived == {}


def test_unknown_service_names_cannot_grow_an_edges_memory(harness):
    """Names that pass the pattern but that nobody registers: 503s, and past MAX_ROUTE_TABLES nothing is kept;
    a registered service still gets its table and its metrics."""
    harness = type(harness)(registered_kv())
    isolate = Isolate()
    coordinator = Coordinator(VALIDATING)

    def route(name: str) -> Response:
        return harness.run(coordinator.handle(Request("POST", f"/api/service/{name}/process"), isolate))

    for i in range(MAX_ROUTE_TABLES + 50):
        assert route(f"ghost-{i}").status == 503
    full = _sizes(isolate)
    assert full[1] == MAX_ROUTE_TABLES and full[2] == MAX_ROUTE_TABLES
    for i in range(500):
        assert route(f"phantom-{i}").status == 503
    assert _sizes(isolate) == full
    assert "breakers" not in isolate.state or not isolate.state["breakers"]._breakers
    assert route("upload").status == 200  # a registered service is served and remembered past the bound
    assert "upload" in isolate.state["route_tables"] and "upload" in isolate.state["metrics"].services


def test_without_validation_every_unknown_name_keeps_a_table(harness):
    """What the reference's bound prevents (the knob off: one table per name asked for)."""
    policy = REFERENCE.model_copy(update={"validate_requests": False})
    harness, isolate, coordinator = type(harness)(registered_kv()), Isolate(), Coordinator(policy)
    for i in range(MAX_ROUTE_TABLES + 50):
        harness.run(coordinator.handle(Request("POST", f"/api/service/ghost-{i}/process"), isolate))
    assert len(isolate.state["route_tables"]) == MAX_ROUTE_TABLES + 50


# --- a forged load through inverse-load (seed-fixes) ----------------------------------------------------------------


def test_inverse_load_weighs_a_forged_load_as_javascript_does():
    assert js_inverse_weight(0.25) == 1.0 / (0.25 + 0.1)
    assert js_inverse_weight(0) == js_inverse_weight(None) == js_inverse_weight(math.nan) == 1.0 / 0.6
    assert js_inverse_weight(-0.1) == math.inf  # 1 / (-0.1 + 0.1) = 1 / 0
    assert js_inverse_weight(-0.2) == 1.0 / (-0.2 + 0.1)  # a negative weight
    assert js_inverse_weight("1") == 1.0 / 10.1  # "1" + 0.1 is "10.1"
    assert math.isnan(js_inverse_weight("high")) and math.isnan(js_inverse_weight({}))
    assert js_inverse_weight([]) == 10.0  # [] + 0.1 is "0.1"
    assert js_inverse_weight(True) == 1.0 / 1.1
    assert js_inverse_weight(10**400) == 0.0  # JSON.parse: Infinity; 1 / Infinity


def test_an_infinite_or_nan_weight_draws_the_last_candidate_as_the_reviews_loop_does():
    a, b, c = {"id": "a"}, {"id": "b"}, {"id": "c"}
    assert js_weighted_pick([a, b, c], [1.0, math.inf, 1.0], 0.5) is c  # Inf - Inf is NaN: no test passes
    assert js_weighted_pick([a, b], [1.0, math.nan], 0.1) is b
    assert js_weighted_pick([a, b], [2.0, -1.0], 0.4) is a  # 0.4 * 1 - 2 <= 0
    assert js_weighted_pick([a, b], [1.0, 1.0], 0.0) is a  # 0 - 1 <= 0


def test_seed_fixes_route_past_a_forged_negative_load_without_an_error(harness):
    policy = PRESETS["seed-fixes"].policy
    harness = type(harness)()
    coordinator = Coordinator(policy)
    for host, fingerprint in (("m1", "aaa"), ("m2", "bbb")):
        body = _with(REGISTER, tunnel_url=f"https://{host}.tunnel", fingerprint=fingerprint)
        assert harness.run(coordinator.handle(Request("POST", "/api/worker/register", body))).status == 200
    forged = {"worker_id": "worker-aaa", "current_load": -0.1}
    assert harness.run(coordinator.handle(Request("POST", "/api/worker/heartbeat", forged))).status == 200
    assert harness.kv["worker:worker-aaa"]["current_load"] == -0.1
    harness.randoms = [0.5] * 20
    for _ in range(5):
        harness.log.clear()
        response = harness.run(coordinator.handle(Request("POST", "/api/service/upload/process")))
        assert response.status == 200
        assert not any(isinstance(op, Trace) and op.event == WORKER_EXCEPTION for op in harness.log)


def test_the_reference_refuses_the_forged_load_at_the_heartbeat(harness):
    harness = type(harness)(registered_kv())
    forged = {"worker_id": "worker-abc123", "current_load": -0.1}
    response = harness.run(Coordinator(REFERENCE).handle(Request("POST", "/api/worker/heartbeat", forged)))
    assert response == Response(400, {"error": "Input should be greater than or equal to 0", "field": "current_load"})
    assert harness.kv["worker:worker-abc123"]["current_load"] == 0.1


# --- well-formed traffic: answered exactly as before ------------------------------------------------------------


@pytest.mark.parametrize("name", ["crash", "registration_burst"])
def test_validation_changes_no_figure_of_a_run_with_well_behaved_agents(name):
    scenario = rmasim.load_scenario(SCENARIOS / f"{name}.yaml")
    runs = [
        rmasim.run(
            scenario.with_overrides({
                "coordinator.preset": "reference", "coordinator.validate_requests": on, "duration": "6m",
                "expect": [],
            }),
            seed=2,
        ).summary
        for on in (True, False)
    ]  # fmt: skip
    assert summary_json(runs[0]) == summary_json(runs[1])
    assert runs[0]["coordinator.errors"] == 0
