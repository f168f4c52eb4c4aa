"""The baseline agent, driven by hand: detection, registration, heartbeats, graceful stop, retry."""

from __future__ import annotations

from rmasim.scenario import Policy
from rmasim.system import Agent, MachineInfo
from rmasim.system.ops import COORDINATOR, ConnectError, HttpCall, ReadLoad, Response, Shutdown, Sleep, Trace

POLICY = Policy()


def machine(**ports: int) -> MachineInfo:
    return MachineInfo("https://m.tunnel", ports)


def server(calls: list, worker_id: str = "w-1", down_ports=()):
    def answer(call: HttpCall):
        calls.append(call)
        if call.url.startswith("http://localhost:"):
            if int(call.url.rsplit(":", 1)[1]) in down_ports:
                return ConnectError("refused")
            return Response(200, {"status": "healthy", "version": "1.2"})
        if call.path == "/api/worker/register":
            return Response(200, {"worker_id": worker_id, "is_heartbeat_leader": False})
        return Response(200, {"status": "ok"})

    return answer


def test_detects_only_known_services_that_answer(harness):
    """Flaw #7: a custom service is never detected; a service whose /health fails is left out."""
    calls: list = []
    harness.http = server(calls, down_ports=(8102,))
    agent = Agent(machine(upload=8103, rag=8102, custom=9000), POLICY)
    gen = agent.run()
    harness.step(gen, 4)  # probe upload, probe rag (refused), register, trace "registered"
    assert [c.url for c in calls] == ["http://localhost:8103", "http://localhost:8102", COORDINATOR]
    assert calls[2].body["services"] == [{"name": "upload", "version": "1.2", "port": 8103}]
    assert calls[2].body["wants_heartbeat_leadership"] is True
    assert agent.worker_id == "w-1"


def test_heartbeats_every_interval_with_one_second_cpu_sample(harness):
    calls: list = []
    harness.http = server(calls)
    gen = Agent(machine(upload=8103), POLICY).run()
    op = next(gen)
    for _ in range(3):  # probe, register, trace "registered"
        op = gen.send(harness.answer(op))
    log_start = len(harness.log)
    for _ in range(6):
        op = gen.send(harness.answer(op))
    assert harness.log[log_start:] == [
        Sleep(30.0),
        ReadLoad(1.0),
        HttpCall(
            COORDINATOR,
            "POST",
            "/api/worker/heartbeat",
            {"worker_id": "w-1", "status": "healthy", "current_load": 0.25, "available_memory": "7.5GB"},
            10.0,
        ),
        Sleep(30.0),
        ReadLoad(1.0),
        harness.log[log_start + 2],
    ]


def test_graceful_stop_unregisters(harness):
    calls: list = []
    harness.http = server(calls)
    gen = Agent(machine(upload=8103), POLICY).run()
    assert harness.step(gen, 3) == Sleep(30.0)  # probe, register, trace; now sleeping
    op = gen.throw(Shutdown())
    assert op == HttpCall(COORDINATOR, "POST", "/api/worker/unregister", {"worker_id": "w-1"}, 10.0)


def test_stop_before_registration_does_nothing(harness):
    gen = Agent(machine(upload=8103), POLICY).run()
    assert isinstance(next(gen), HttpCall)  # still probing
    try:
        gen.throw(Shutdown())
    except StopIteration:
        pass
    else:
        raise AssertionError("agent should have exited")


def test_failed_registration_is_retried_after_an_interval(harness):
    calls: list = []
    answers = iter([ConnectError("down"), Response(200, {"worker_id": "w-2"})])
    harness.http = lambda call: calls.append(call) or next(answers)
    agent = Agent(machine(), POLICY)
    gen = agent.run()
    harness.step(gen, 4)  # register (fails), sleep, register, trace
    assert harness.log == [calls[0], Sleep(30.0), calls[1], Trace("registered", {"worker_id": "w-2", "services": []})]
    assert agent.worker_id == "w-2"


def test_registration_reports_id_services_and_leadership(harness):
    """The observer learns when a registration completed, and that the agent now believes it leads."""
    harness.http = lambda call: (
        Response(200, {"status": "healthy", "version": "1.2"})
        if call.url != COORDINATOR
        else Response(200, {"worker_id": "w-3", "is_heartbeat_leader": True})
    )
    gen = Agent(machine(upload=8103), POLICY).run()
    assert harness.step(gen, 4) == Sleep(30.0)  # probe, register, two traces
    assert harness.log[2:] == [
        Trace("registered", {"worker_id": "w-3", "services": ["upload"]}),
        Trace("leadership", {"worker_id": "w-3", "leader": True}),
    ]


def test_fix3_probes_each_service_before_the_heartbeat_and_reports_it(harness):
    """Fix #3 as written: /health with a 2 s timeout per service; 200 healthy, other status degraded, no answer
    unhealthy; the report rides on the heartbeat."""
    health = {8103: Response(200, {"version": "1"}), 8102: ConnectError("refused")}
    calls: list = []

    def answer(call: HttpCall):
        calls.append(call)
        if call.url.startswith("http://localhost:"):
            port = int(call.url.rsplit(":", 1)[1])
            if len(calls) <= 2:  # detection at startup: both answer
                return Response(200, {"version": "1"})
            result = health[port]
            if isinstance(result, Exception):
                raise result
            return result
        if call.path == "/api/worker/register":
            return Response(200, {"worker_id": "w-1"})
        return Response(200, {"status": "ok"})

    harness.http = answer
    gen = Agent(machine(upload=8103, rag=8102), Policy(service_health=True)).run()
    op = next(gen)
    while not (isinstance(op, HttpCall) and op.path == "/api/worker/heartbeat"):
        try:
            value = harness.answer(op)
        except ConnectError as error:
            op = gen.throw(error)
            continue
        op = gen.send(value)
    probes = [c for c in calls[2:] if c.url.startswith("http://localhost:")]
    assert [(c.url, c.timeout) for c in probes] == [("http://localhost:8103", 2.0), ("http://localhost:8102", 2.0)]
    assert op.body["service_health"] == [
        {"name": "upload", "status": "healthy"},
        {"name": "rag", "status": "unhealthy"},
    ]


def test_configured_discovery_probes_every_configured_service(harness):
    """Flaw #7's fix: with ``service_discovery: configured`` a custom service is probed and registered."""
    calls: list = []
    harness.http = server(calls)
    agent = Agent(machine(upload=8103, custom=9000), Policy(service_discovery="configured"))
    harness.step(agent.run(), 4)  # probe upload, probe custom, register, trace
    assert [c.url for c in calls[:2]] == ["http://localhost:8103", "http://localhost:9000"]
    assert [s["name"] for s in calls[2].body["services"]] == ["upload", "custom"]


def test_active_probes_mark_a_service_unhealthy_after_3_failures_and_report_it_at_once(harness):
    """Kubernetes' defaults: probes every 10 s with a 1 s timeout; the third failure in a row turns the service
    unhealthy and a heartbeat carrying it goes out at once, not at the next 30 s heartbeat; one success heals."""
    down = {"since": float("inf"), "until": float("inf")}

    def answer(call: HttpCall):
        if call.url.startswith("http://localhost:"):
            if down["since"] <= harness.now < down["until"]:
                return ConnectError("refused")
            return Response(200, {"version": "1"})
        if call.path == "/api/worker/register":
            return Response(200, {"worker_id": "w-1"})
        return Response(200, {"status": "ok"})

    harness.http = answer
    agent = Agent(machine(upload=8103), Policy(probe_interval="10s", service_health=True))
    gen = agent.run()
    op, reports = next(gen), []
    while harness.now < 1200.0:
        if isinstance(op, HttpCall) and op.path == "/api/worker/heartbeat":
            reports.append((harness.now, op.body["service_health"][0]["status"]))
        if harness.now >= 1040.0 and down["since"] == float("inf"):
            down["since"], down["until"] = harness.now, harness.now + 60.0
        try:
            value, error = harness.answer(op), None
        except ConnectError as exc:
            value, error = None, exc
        op = gen.throw(error) if error is not None else gen.send(value)
    probes = [
        o for o in harness.log if isinstance(o, HttpCall) and o.url.startswith("http://localhost") and o.timeout == 1.0
    ]
    assert probes and all(p.timeout == 1.0 for p in probes)
    went_down = next(t for t, status in reports if status == "unhealthy")
    assert down["since"] + 20.0 <= went_down <= down["since"] + 30.0 + 1.0  # the 3rd failing probe, then at once
    came_back = next(t for t, status in reports if t > went_down and status == "healthy")
    assert down["until"] <= came_back <= down["until"] + 10.0 + 1.0  # the first probe that succeeds
