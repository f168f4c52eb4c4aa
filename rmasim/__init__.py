"""rmasim: a deterministic simulation and chaos-testing harness for a Workers-KV service coordinator.

Public API (kept stable: tests and notebooks depend on it)::

    import rmasim
    scenario = rmasim.load_scenario("scenarios/crash.yaml")
    result = rmasim.run(scenario.with_overrides({"coordinator.edges": 2}), seed=7)
    result.summary["pollution.final"], result.timeseries, result.requests, result.expectations
    rows = rmasim.sweep([scenario], grid={"coordinator.edges": [1, 2, 4]}, seeds=range(20))   # a DataFrame

``rmasim.sweep`` is the function; its package's other names stay importable (``from rmasim.sweep import
plan_runs``).
"""

from .engine import ExpectationResult, RunResult, run
from .scenario import Scenario, ScenarioError, load_scenario
from .sweep import sweep

__all__ = ["ExpectationResult", "RunResult", "Scenario", "ScenarioError", "load_scenario", "run", "sweep"]
__version__ = "0.1.0"
