import ast
from pathlib import Path

import rmasim.scenario as scenario_package

DOCUMENTED = {
    # the scenario model and its sections
    "Scenario",
    "ClockConfig",
    "CoordinatorConfig",
    "GroupConfig",
    "KVConfig",
    "NetworkConfig",
    "ServiceConfig",
    "WorkloadSpec",
    "Expectation",
    "scenario_json_schema",
    # loading and problems
    "load_scenario",
    "load_scenario_text",
    "resolve_scenario",
    "shipped_scenarios",
    "ScenarioError",
    "Problem",
    "parse_value",
    "YamlLimitError",
    # names defined by higher layers (summary keys, balancers)
    "register_names",
    # policy and presets
    "Policy",
    "Preset",
    "PRESETS",
    "register_preset",
    # faults
    "FAULT_SPECS",
    "FaultSpec",
    "Crash",
    "Stop",
    "Start",
    "Restart",
    "register_fault_spec",
    # distributions
    "Dist",
    "Distribution",
    "Constant",
    "Exponential",
    "Uniform",
    "LogNormal",
    # units
    "Duration",
    "PositiveDuration",
    "SignedDuration",
    "Rate",
    "parse_duration",
    "parse_rate",
    "format_duration",
    "format_rate",
}


def test_all_matches_the_documented_api():
    assert set(scenario_package.__all__) == DOCUMENTED
    assert len(scenario_package.__all__) == len(DOCUMENTED)


def test_every_public_name_exists():
    assert [name for name in scenario_package.__all__ if not hasattr(scenario_package, name)] == []


def test_public_classes_and_functions_have_docstrings():
    missing = [
        name
        for name in scenario_package.__all__
        if callable(obj := getattr(scenario_package, name))
        and isinstance(obj, type | type(len) | type(test_every_public_name_exists))
        and not (obj.__doc__ or "").strip()
    ]
    assert missing == []


def test_scenario_imports_nothing_else_from_rmasim():
    imports = set()
    for path in Path(scenario_package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imports.add(node.module)
            elif isinstance(node, ast.Import):
                imports.update(alias.name for alias in node.names)
    assert sorted(name for name in imports if name.startswith("rmasim")) == []
