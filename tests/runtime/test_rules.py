"""The runtime's interpretation rules, each checked through small whole runs (see rmasim/runtime/runtime.py)."""

from __future__ import annotations

import math

import pytest

import rmasim
from rmasim.engine import _Simulation
from rmasim.runtime.driver import Driver
from rmasim.runtime.nodes import Ctx, node_address
from rmasim.scenario import load_scenario_text
from rmasim.system import ops

ONE_BOX = """
name: rules
duration: 10m
sample_every: 5s
network: {latency: 0s}
kv: {read_latency: 0s, write_latency: 0s}
fleet:
  box:
    count: 1
    start_within: 0s
    services:
      upload: {port: 8103, capacity: 1, service_time: 10s}
workload:
  - {service: upload, rate: 1/m, start: 1m}
"""


def scenario(**overrides) -> rmasim.Scenario:
    return load_scenario_text(ONE_BOX, "rules.yaml").with_overrides(overrides)


def test_a_request_longer_than_the_timeout_times_out_at_the_timeout():
    """Past the timeout the caller gets RequestTimeout while the container keeps working."""
    result = rmasim.run(scenario(**{"fleet.box.services.upload.service_time": "70s"}))
    req = result.requests
    assert set(req.outcome) == {"timeout"}
    assert req.latency.to_numpy() == pytest.approx(50.0)  # the baseline's platform limit


def test_requests_in_flight_when_the_machine_crashes_fail():
    """A crash while the request is in the machine fails it (noticed when it would have completed)."""
    s = scenario(
        **{
            "workload.0.rate": "4/m",  # utilization 2/3 of the one 10 s slot
            "faults": [{"at": "5m", "action": "crash", "target": "box/0"}],
        }
    )
    req = rmasim.run(s).requests
    before = req[req.t_arrival < 300]
    finished = before[before.t_done <= 300]
    unfinished = before[before.t_done > 300]
    assert set(finished.outcome) <= {"ok", "timeout"} and (finished.outcome == "ok").any()
    assert set(unfinished.outcome) <= {"dead_target", "timeout"}
    assert (unfinished.outcome == "dead_target").any()
    assert (req[req.t_arrival >= 300].outcome == "dead_target").all()


def test_a_partitioned_agent_never_registers():
    """A lost agent -> edge message is a timeout for the agent: nothing reaches the registry."""
    sim = _Simulation(scenario(), seed=1)
    sim.network.partition(["agent/*"], ["edge/*"])
    sim.env.run(until=600)
    assert sim.kv.central_snapshot(600) == {}
    assert sim.observer.requests.outcome_names().tolist() == ["no_provider"] * 9


def test_sleep_lasts_local_seconds_on_a_drifting_clock():
    """Sleep(d) lasts d seconds of the caller's clock: with drift 0.5 the agent's 30 s sleep and 1 s CPU sample
    last 31 / 1.5 true seconds, so (zero latencies) floor(3600 * 1.5 / 31) = 174 heartbeats in an hour."""
    s = scenario(**{"duration": "1h", "workload": [], "fleet.box.clock.drift": 0.5})
    assert rmasim.run(s).summary["kv.writes.worker"] == 1 + 174


def test_heartbeat_time_is_written_from_the_edge_clock():
    """Now reads the caller's local clock: the record's last_heartbeat is the edge's local time."""
    sim = _Simulation(scenario(**{"workload": []}), seed=1)
    sim.edges[0].clock.jump(1000.0, 0.0)
    sim.env.run(until=100)
    (record,) = [v for k, v in sim.kv.central_snapshot(100).items() if k.startswith("worker:")]
    assert record["last_heartbeat"] == 1000.0 + 93.0  # registered at 0, heartbeats at 31, 62 and 93


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_uniform_arrivals_match_the_rate(seed):
    """Open-loop Poisson clients: the count in 9 minutes at 1/s is Poisson(540)."""
    req = rmasim.run(scenario(**{"workload.0.rate": "1/s"}), seed=seed).requests
    assert abs(len(req) - 540) <= 4 * math.sqrt(540)


def test_answers_lost_in_a_one_way_partition_time_the_caller_out():
    """A forward reaches a machine cut off one way (machine -> edge), but its answer is lost: the caller gets
    RequestTimeout at the timeout; outside the partition the same requests are served."""
    s = scenario(
        **{
            "workload.0.rate": "2/m",
            "fleet.box.services.upload.service_time": "1s",
            "faults": [{"at": "3m", "action": "partition", "target": "box/0", "duration": "3m", "oneway": True}],
        }
    )
    req = rmasim.run(s).requests
    inside = req[(req.t_arrival >= 180) & (req.t_arrival < 360)]
    outside = req[(req.t_arrival < 180) | (req.t_arrival >= 360)]
    assert len(inside) > 0 and set(inside.outcome) == {"timeout"}
    assert inside.latency.to_numpy() == pytest.approx(50.0)
    assert set(outside.outcome) == {"ok"}


def test_every_request_names_its_callers_address_and_a_caller_cannot_choose_it():
    """cf-connecting-ip is the platform's: one stable address per machine (the same after a restart), one per
    client location, and a value the caller sent is replaced."""
    s = scenario(faults=[{"at": "2m", "action": "restart", "target": "box/0"}])
    sim = _Simulation(s, seed=1)
    seen: list[ops.Request] = []
    handle = sim.runtime.coordinator.handle

    def recording(req, isolate=None):
        seen.append(req)
        return handle(req, isolate)

    sim.runtime.coordinator.handle = recording
    sim.env.run(until=300)
    machine = sim.machines[("box", 0)]
    agent_calls = [r for r in seen if r.path.startswith("/api/worker/")]
    assert {r.header("CF-Connecting-IP") for r in agent_calls} == {node_address(machine.node)}
    assert sum(r.path == "/api/worker/register" for r in agent_calls) == 2  # before and after the restart
    proxied = [r for r in seen if r.path.startswith("/api/service/")]
    assert proxied and {r.headers for r in proxied} == {((ops.CONNECTING_IP, node_address("client/0")),)}
    assert node_address(machine.node) != node_address("client/0")

    def spoofing():
        yield ops.HttpCall(ops.COORDINATOR, "GET", "/api/workers", None, 5.0, (("Cf-Connecting-Ip", "10.0.0.1"),))

    attacker = Ctx("attacker/0", machine.clock, machine.uniform, sim.edges[0])
    Driver(sim.runtime, spoofing(), attacker, lambda *_: None).start()
    sim.env.run(until=310)
    listed = [r for r in seen if r.path == "/api/workers"]
    assert [r.headers for r in listed] == [((ops.CONNECTING_IP, node_address("attacker/0")),)]
