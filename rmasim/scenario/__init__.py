"""The scenario language: pydantic models of an experiment, YAML loading with located errors, units, presets.

    >>> from rmasim.scenario import load_scenario_text
    >>> scenario = load_scenario_text('''
    ... name: smoke
    ... duration: 1m
    ... fleet: {gpu: {count: 2, services: {upload: {capacity: 4}}}}
    ... ''')
    >>> scenario.duration, scenario.policy.heartbeat_interval
    (60.0, 30.0)

This package imports nothing else from rmasim; every other layer builds on it. Names that higher layers define
(summary keys, balancers) are checked through lookups they register (``register_names``); the bounds every
input is held to are in ``rmasim.scenario.limits``.
"""

from .distributions import Constant, Dist, Distribution, Exponential, LogNormal, Uniform
from .errors import Problem, ScenarioError
from .expectations import Expectation
from .faults import FAULT_SPECS, Crash, FaultSpec, Restart, Start, Stop, register_fault_spec
from .loader import (
    YamlLimitError,
    load_scenario,
    load_scenario_text,
    parse_value,
    resolve_scenario,
    shipped_scenarios,
)
from .models import (
    ClockConfig,
    CoordinatorConfig,
    GroupConfig,
    KVConfig,
    NetworkConfig,
    Scenario,
    ServiceConfig,
    WorkloadSpec,
    scenario_json_schema,
)
from .names import register_names
from .policy import PRESETS, Policy, Preset, register_preset
from .units import (
    Duration,
    PositiveDuration,
    Rate,
    SignedDuration,
    format_duration,
    format_rate,
    parse_duration,
    parse_rate,
)

__all__ = [
    "FAULT_SPECS",
    "PRESETS",
    "ClockConfig",
    "Constant",
    "CoordinatorConfig",
    "Crash",
    "Dist",
    "Distribution",
    "Duration",
    "Expectation",
    "Exponential",
    "FaultSpec",
    "GroupConfig",
    "KVConfig",
    "LogNormal",
    "NetworkConfig",
    "Policy",
    "PositiveDuration",
    "Preset",
    "Problem",
    "Rate",
    "Restart",
    "Scenario",
    "ScenarioError",
    "ServiceConfig",
    "SignedDuration",
    "Start",
    "Stop",
    "Uniform",
    "WorkloadSpec",
    "YamlLimitError",
    "format_duration",
    "format_rate",
    "load_scenario",
    "load_scenario_text",
    "parse_duration",
    "parse_rate",
    "parse_value",
    "register_fault_spec",
    "register_names",
    "register_preset",
    "resolve_scenario",
    "scenario_json_schema",
    "shipped_scenarios",
]
