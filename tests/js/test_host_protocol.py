"""The lockstep protocol: one message, one reply; an invocation has at most one operation in flight."""

from __future__ import annotations

import json
from pathlib import Path

from jsharness import Harness, request

from rmasim.system import ops
from rmasim.system.worker import NodeHost, load_worker_config
from rmasim.system.worker.coordinator import ORIGIN

PROBE = Path(__file__).parent / "workers" / "probe.js"


def fetch(inv: int, path: str, now: float = 5000.0, rand: list[float] | None = None) -> dict:
    request = {"method": "GET", "url": ORIGIN + path, "headers": [], "body": None}
    return {"t": "fetch", "inv": inv, "iso": 0, "now": now, "rand": rand or [], "req": request}


def test_each_message_gets_one_reply_and_concurrent_reads_go_one_at_a_time():
    host = NodeHost(load_worker_config(PROBE))
    try:
        first = host.exchange(fetch(1, "/all"))
        assert first == {"t": "op", "inv": 1, "op": {"k": "get", "key": "a", "type": "text"}, "used": 0}
        second = host.exchange({"t": "result", "inv": 1, "now": 5010.0, "value": {"text": "A"}})
        assert second == {"t": "op", "inv": 1, "op": {"k": "get", "key": "b", "type": "text"}, "used": 0}
        done = host.exchange({"t": "result", "inv": 1, "now": 5020.0, "value": None})
        assert (done["t"], done["status"], json.loads(done["body"])) == ("done", 200, {"a": "A", "b": None})
        assert host.messages == 4  # load + three
    finally:
        host.close()


def test_two_invocations_interleave_as_the_simulator_decides():
    host = NodeHost(load_worker_config(PROBE))
    try:
        assert host.exchange(fetch(1, "/kv/get-text"))["op"]["key"] == "a"
        assert host.exchange(fetch(2, "/kv/get-text"))["op"]["key"] == "a"
        two = host.exchange({"t": "result", "inv": 2, "now": 5001.0, "value": {"text": "second"}})
        one = host.exchange({"t": "result", "inv": 1, "now": 5002.0, "value": {"text": "first"}})
        assert [json.loads(r["body"])["value"] for r in (two, one)] == ["second", "first"]
    finally:
        host.close()


def test_module_state_lives_per_isolate(probe, harness: Harness):
    from rmasim.system.coordinator import Isolate

    edge_a, edge_b = Isolate(), Isolate()
    counts = [harness.run(probe.handle(request("/counter"), isolate)).body["counter"]
              for isolate in (edge_a, edge_a, edge_b, edge_a)]  # fmt: skip
    assert counts == [1, 2, 1, 3]


def test_requests_reach_the_worker_as_standard_requests(probe, harness: Harness):
    response = harness.run(probe.handle(request("/echo", "POST", {"worker_id": "w1"})))
    assert response == ops.Response(200, {"method": "POST", "body": {"worker_id": "w1"}, "vars": "hi"})


def test_a_requests_headers_reach_the_worker(probe, harness: Harness):
    """The system's request headers (the caller's own and the platform's cf-connecting-ip) are the JavaScript
    Request's headers, names lower-cased as the Headers class keeps them."""
    headers = (("X-Signature", "abc"), (ops.CONNECTING_IP, "2001:db8::1"))
    response = harness.run(probe.handle(ops.Request("POST", "/headers", {"a": 1}, headers)))
    expected = {"content-type": "application/json", "x-signature": "abc", "cf-connecting-ip": "2001:db8::1"}
    assert response.body == expected


def test_the_response_goes_first_and_wait_until_work_goes_on(probe, harness: Harness):
    response = harness.run(probe.handle(request("/wait")))
    assert harness.log == [ops.Respond(ops.Response(202, "early")), ops.KvPut("background", "done")]
    assert response == ops.Response(202, "early")


def test_the_runtime_answers_at_respond_and_runs_the_rest_detached():
    from rmasim.runtime import Driver, Loop

    env = Loop()
    answers: list[tuple[float, object]] = []
    log: list[tuple[float, str]] = []

    def invocation():
        yield ops.Respond(ops.Response(202, "early"))
        yield 5.0  # the waitUntil() work takes five seconds
        log.append((env.now, "background done"))
        return ops.Response(200, "ignored")

    runtime = type("R", (), {"env": env, "sync_ops": {}, "timed_ops": {}})()
    Driver(runtime, invocation(), None, lambda value, exc: answers.append((env.now, value))).start()  # type: ignore[arg-type]
    env.run()
    assert answers == [(0.0, ops.Response(202, "early"))]
    assert log == [(5.0, "background done")]


def test_scheduled_runs_at_the_minutes_of_its_crons(tmp_path, harness: Harness):
    from rmasim.system.worker import WorkerCoordinator

    (tmp_path / "wrangler.toml").write_text(
        'main = "probe.js"\n[[kv_namespaces]]\nbinding = "WORKERS"\n[triggers]\ncrons = ["*/2 * * * *"]\n'
    )
    (tmp_path / "probe.js").write_text(PROBE.read_text())
    coordinator = WorkerCoordinator.start(load_worker_config(tmp_path / "wrangler.toml"))
    try:
        assert coordinator.crons == ("*/2 * * * *",)
        for _ in range(4):  # the runtime calls scheduled() once a minute, from t = 60 s
            harness.run(coordinator.scheduled())
        assert harness.log == [ops.KvPut("cron", "*/2 * * * *@120000"), ops.KvPut("cron", "*/2 * * * *@240000")]
    finally:
        coordinator.close()
