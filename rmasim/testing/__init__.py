"""rmasim for pytest users (issue 14, Build 6): hypothesis strategies that draw fault schedules and scenarios
(shrunk by hypothesis towards fewer, earlier, shorter faults on the first machines), a check that runs a scenario
and raises an ``AssertionError`` naming each violated property with a replayable YAML of the scenario, and a
pytest plugin (:mod:`rmasim.testing.plugin`, registered as the ``pytest11`` entry point ``rmasim``) with the
``rmasim_run`` fixture and the ``--rmasim-preset`` / ``--rmasim-set`` options.

>>> from hypothesis import given, settings  # doctest: +SKIP
>>> from rmasim.testing import check_properties, fault_schedules
>>> FLEET = rmasim.load_scenario("examples/crash_fleet.yaml")
>>> @settings(max_examples=15, deadline=None)
... @given(faults=fault_schedules(FLEET, kinds=["crash", "partition"], max_faults=2))
... def test_no_property_violated(faults):
...     check_properties(FLEET.with_overrides({"faults": faults}))

The strategies need hypothesis (``pip install rmasim[testing]``); they are imported on first use, so the plugin
loads in a pytest process without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .check import PropertiesViolated, check_properties, judged_scenario, scenario_yaml

if TYPE_CHECKING:
    from .strategies import fault_schedules, scenarios

__all__ = ["PropertiesViolated", "check_properties", "fault_schedules", "judged_scenario", "scenario_yaml", "scenarios"]


def __getattr__(name: str) -> Any:
    if name in ("fault_schedules", "scenarios"):
        from . import strategies

        return getattr(strategies, name)
    raise AttributeError(f"module 'rmasim.testing' has no attribute {name!r}")
