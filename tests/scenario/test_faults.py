import pytest
from pydantic import TypeAdapter, ValidationError

from rmasim.scenario import FAULT_SPECS, Crash, FaultSpec, GroupConfig, Restart, Start, Stop, register_fault_spec
from rmasim.scenario.faults import (
    Burst,
    ClockJump,
    CpuHog,
    CrashLoop,
    EdgeLag,
    HotService,
    KvOutage,
    Partition,
    RollingUpgrade,
    ServiceCrash,
    ServiceErrors,
    ServiceFlap,
    ServiceHang,
    ServiceSlow,
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
