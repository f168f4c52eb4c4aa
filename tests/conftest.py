"""Shared fixtures: the smallest valid scenario, as YAML text and as plain data."""

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
