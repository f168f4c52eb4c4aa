import pytest

from rmasim.scenario import PRESETS, Policy, Preset, load_scenario_text, register_preset


@pytest.fixture
def scratch_preset():
    """Remove presets registered by a test so the registry stays as shipped."""
    before = set(PRESETS)
    yield
    for name in set(PRESETS) - before:
        del PRESETS[name]


def test_baseline_defaults_are_the_seed_code():
    assert Policy().model_dump() == {
        "heartbeat_interval": "30s",
        "offline_after": "90s",
        "request_timeout": "50s",
        "wants_heartbeat_leadership": True,
        "balancer": "random",
        "load_info": "reported",
        "load_signal": "cpu",
        "unregister_cleanup": False,
        "stale_cleanup": "none",
        "sweep_interval": "1m",
        "purge_after": "90s",
        "stale_by": "timestamp",
        "purge_brake": False,
        "identity": "random",
        "rejoin": False,
        "service_health": False,
        "probe_interval": None,
        "service_timeouts": {},
        "retries": 0,
        "retry_budget_percent": 0.2,
        "retry_budget_min_per_sec": 10.0,
        "deadline_propagation": False,
        "admission_wait": None,
        "circuit_breaker": False,
        "breaker_failure_rate": 0.5,
        "breaker_window": 100,
        "breaker_min_calls": 20,
        "breaker_open_for": "1m",
        "breaker_half_open_calls": 10,
        "version_routing": False,
        "versions": {},
        "metrics": False,
        "outlier_ejection": False,
        "outlier_release": "time",
        "service_discovery": "known_list",
        "route_cache": "10s",
        "registry_layout": "shared_lists",
        "leader": "naive",
        "validate_requests": False,
        "agent_auth": False,
        "bootstrap_token": "rmasim-bootstrap-token",
        "signature_skew": "5m",
        "admin_auth": False,
        "admin_token": "rmasim-admin-token",
        "epoch_checks": False,
        "tunnel_validation": False,
        "tunnel_domains": ["*.cfargotunnel.com", "*.trycloudflare.com", "*.tunnel.invalid"],
        "rate_limits": False,
        "lease_duration": "15s",
        "lease_renew": "10s",
        "lease_retry": "2s",
        "leader_duty": None,
        "fence_duty": False,
    }
    baseline = PRESETS["baseline"]
    assert (baseline.name, dict(baseline.overrides), baseline.policy) == ("baseline", {}, Policy())


def test_register_preset_overlays_knobs(scratch_preset):
    preset = register_preset("fast", "Heartbeat every 10s.", heartbeat_interval="10s", offline_after="30s")
    assert isinstance(preset, Preset)
    assert PRESETS["fast"] is preset
    assert (preset.policy.heartbeat_interval, preset.policy.offline_after, preset.policy.request_timeout) == (
        10.0,
        30.0,
        50.0,
    )


def test_duplicate_preset_is_refused(scratch_preset):
    with pytest.raises(ValueError, match="preset 'baseline' is already registered"):
        register_preset("baseline", "again")


def test_unknown_knob_is_refused(scratch_preset):
    with pytest.raises(ValueError) as info:
        register_preset("typo", "", heartbeat_intreval="10s")
    assert str(info.value) == (
        "preset 'typo': unknown knob(s) heartbeat_intreval; known knobs: " + ", ".join(Policy.model_fields)
    )
    assert "typo" not in PRESETS


def test_invalid_knob_value_is_refused(scratch_preset):
    with pytest.raises(ValueError, match="preset 'bad': invalid knob value"):
        register_preset("bad", "", heartbeat_interval="0s")
    assert "bad" not in PRESETS


def test_scenario_knobs_override_the_preset(scratch_preset, minimal_yaml):
    register_preset("fast", "", heartbeat_interval="10s", wants_heartbeat_leadership=False)
    scenario = load_scenario_text(minimal_yaml + "coordinator: {preset: fast, offline_after: 45s, edges: 3}\n")
    assert scenario.coordinator.edges == 3
    assert scenario.policy == Policy(
        heartbeat_interval="10s", offline_after="45s", request_timeout="50s", wants_heartbeat_leadership=False
    )


def test_every_policy_knob_is_an_optional_coordinator_field(minimal_yaml):
    coordinator = load_scenario_text(minimal_yaml).coordinator
    assert {name: getattr(coordinator, name) for name in Policy.model_fields} == dict.fromkeys(Policy.model_fields)
    assert coordinator.policy == Policy()


def test_reference_preset_is_the_issue_design():
    """Issue 4: reference = per-worker keys or strong (strong: no stale reads for the sweeper), sweeper, lease
    leadership, fingerprint identity, purge brake."""
    policy = PRESETS["reference"].policy
    assert (policy.registry_layout, policy.stale_cleanup, policy.leader, policy.identity, policy.purge_brake) == (
        "strong",
        "sweeper",
        "lease",
        "fingerprint",
        True,
    )
    assert (policy.lease_duration, policy.lease_renew, policy.lease_retry) == (15.0, 10.0, 2.0)  # client-go
    assert policy.unregister_cleanup is True and policy.rejoin is True and policy.stale_by == "observation"
