import pytest
from pydantic import TypeAdapter, ValidationError

from rmasim.scenario import FAULT_SPECS, Crash, FaultSpec, GroupConfig, Restart, Start, Stop, register_fault_spec
from rmasim.scenario.faults import (
    Burst,
    ClockJump,
    CpuHog,
    CrashLoop,
    EdgeLag,
    ForgedHeartbeat,
    ForgedUnregister,
    HotService,
    KvOutage,
    LeaseTheft,
    MalformedRequests,
    Partition,
    RegistrationFlood,
    RogueRegister,
    RollingUpgrade,
    ServiceCrash,
    ServiceErrors,
    ServiceFlap,
    ServiceHang,
    ServiceSlow,
    SsrfRegister,
    TrafficBurst,
    fault_spec_union,
)

FAULT = TypeAdapter(fault_spec_union())
FLEET = {
    "gpu": GroupConfig.model_validate({"count": 2, "spares": 1, "services": {"upload": {}}}),
    "cpu": GroupConfig.model_validate({"count": 1, "services": {"rag": {}}}),
}
BUILT_IN = {
    "crash": Crash,
    "stop": Stop,
    "start": Start,
    "restart": Restart,
    "crash_loop": CrashLoop,
    "burst": Burst,
    "partition": Partition,
    "clock_jump": ClockJump,
    "edge_lag": EdgeLag,
    "kv_outage": KvOutage,
    "service_crash": ServiceCrash,
    "service_slow": ServiceSlow,
    "service_errors": ServiceErrors,
    "service_hang": ServiceHang,
    "service_flap": ServiceFlap,
    "rolling_upgrade": RollingUpgrade,
    "hot_service": HotService,
    "traffic_burst": TrafficBurst,
    "cpu_hog": CpuHog,
    "rogue_register": RogueRegister,
    "forged_heartbeat": ForgedHeartbeat,
    "forged_unregister": ForgedUnregister,
    "lease_theft": LeaseTheft,
    "ssrf_register": SsrfRegister,
    "registration_flood": RegistrationFlood,
    "malformed_requests": MalformedRequests,
}


def test_registry_holds_the_built_in_actions():
    assert BUILT_IN == FAULT_SPECS


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"action": "crash", "at": "5m", "target": "gpu/0"}, Crash(at="5m", target="gpu/0")),
        ({"action": "stop", "at": "1s", "target": "cpu/*"}, Stop(at="1s", target="cpu/*")),
        ({"action": "start", "at": "0s", "target": "gpu/2"}, Start(at="0s", target="gpu/2")),
        ({"action": "restart", "at": "1m", "target": "gpu/1"}, Restart(at="1m", target="gpu/1", down_for="0s")),
    ],
)
def test_faults_are_discriminated_on_action(data, expected):
    assert FAULT.validate_python(data) == expected


def test_restart_down_for():
    fault = FAULT.validate_python({"action": "restart", "at": "1m", "target": "gpu/1", "down_for": "30s"})
    assert (fault.at, fault.down_for) == (60.0, 30.0)
    assert FAULT.dump_python(fault) == {"action": "restart", "at": "1m", "target": "gpu/1", "down_for": "30s"}


@pytest.mark.parametrize(
    ("target", "machines"),
    [("gpu/0", [("gpu", 0)]), ("gpu/2", [("gpu", 2)]), ("gpu/*", [("gpu", 0), ("gpu", 1), ("gpu", 2)])],
)
def test_machines(target, machines):
    assert Crash(at="1s", target=target).machines(FLEET) == machines


@pytest.mark.parametrize("target", ["gpu", "gpu/", "GPU/0", "gpu/-1", "gpu/0/1", "gpu/x", "/0"])
def test_bad_target_syntax(target):
    with pytest.raises(ValidationError, match="String should match pattern"):
        Crash(at="1s", target=target)


def test_unknown_action_lists_the_registered_ones():
    with pytest.raises(ValidationError) as info:
        FAULT.validate_python({"action": "explode", "at": "1s", "target": "gpu/0"})
    assert "expected tags: 'crash', 'stop', 'start', 'restart', 'crash_loop', 'burst', " in str(info.value)


def test_register_fault_spec_refuses_duplicates_and_untagged_classes():
    with pytest.raises(ValueError, match="fault action 'crash' is already registered by Crash"):

        @register_fault_spec
        class AnotherCrash(Crash):
            pass

    with pytest.raises(TypeError, match="needs a field `action: Literal"):

        @register_fault_spec
        class Untagged(FaultSpec):
            pass

    assert set(FAULT_SPECS) == set(BUILT_IN)


def test_a_service_fault_names_a_service_the_group_runs():
    fault = FAULT.validate_python({"action": "service_crash", "at": "1m", "target": "gpu/0", "service": "rag"})
    assert fault.problems(FLEET, 1) == [("service", "group 'gpu' runs no 'rag'; it runs upload")]
    ok = FAULT.validate_python({"action": "service_slow", "at": "1m", "target": "cpu/*", "service": "rag",
                                "factor": 20, "duration": "5m"})  # fmt: skip
    assert ok.problems(FLEET, 1) == [] and (ok.factor, ok.duration) == (20.0, 300.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "registration_flood", "at": "1m", "rate": 10_000, "duration": "1m"}, "rate x duration"),
        ({"action": "forged_heartbeat", "at": "1m", "workers": 1000, "times": 1000}, "workers x times"),
        ({"action": "lease_theft", "at": "1m", "duration": "1d", "every": "1s"}, "2 x duration / every"),
        ({"action": "forged_unregister", "at": "1m", "source": "Not A Host"}, "source"),
    ],
)
def test_an_attack_is_bounded(data, message):
    """At most 100 000 calls per attack fault, each field checked where it is written."""
    with pytest.raises(ValidationError, match=message):
        FAULT.validate_python(data)


def test_an_attack_names_an_edge_of_the_coordinator():
    fault = FAULT.validate_python({"action": "ssrf_register", "at": "1m", "edge": 3})
    assert fault.problems(FLEET, edges=2) == [("edge", "no edge 3: coordinator.edges is 2 (indexes 0..1)")]
    assert fault.problems(FLEET, edges=4) == []
