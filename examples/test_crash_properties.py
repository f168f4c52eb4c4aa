"""A property test a team copies: hypothesis draws crash and partition schedules for a fleet, rmasim checks
the built-in properties on each run; against `baseline` hypothesis finds a violation and shrinks it."""

from pathlib import Path

import pytest
from hypothesis import given, settings

from rmasim import load_scenario
from rmasim.testing import check_properties, fault_schedules

FLEET = load_scenario(Path(__file__).with_name("crash_fleet.yaml"))


@pytest.mark.parametrize("preset", ["reference", pytest.param("baseline", marks=pytest.mark.xfail(strict=True))])
@settings(max_examples=15, deadline=None)
@given(faults=fault_schedules(FLEET, kinds=["crash", "partition"], max_faults=2))
def test_no_property_violated(preset, faults):
    check_properties(FLEET.with_overrides({"coordinator.preset": preset, "faults": faults}))
