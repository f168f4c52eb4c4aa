"""Shared fixtures: the smallest valid scenario, as YAML text and as plain data; the simulations a test ran."""

import pytest

MINIMAL_YAML = """\
name: minimal
duration: 10m
fleet:
  gpu:
    count: 2
    services:
      upload: {port: 8103, capacity: 4}
"""


@pytest.fixture
def minimal_yaml() -> str:
    return MINIMAL_YAML


@pytest.fixture
def minimal_data() -> dict:
    return {"name": "minimal", "duration": "10m", "fleet": {"gpu": {"count": 2, "services": {"upload": {}}}}}


@pytest.fixture
def simulations(monkeypatch) -> list:
    """Every ``engine._Simulation`` built while the test runs, in order (to look at a run's edges and machines)."""
    from rmasim import engine

    built: list = []

    class Recorded(engine._Simulation):
        def __init__(self, scenario, seed):
            super().__init__(scenario, seed)
            built.append(self)

    monkeypatch.setattr(engine, "_Simulation", Recorded)
    return built
