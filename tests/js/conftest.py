"""Fixtures of the Worker tests: a by-hand harness (:mod:`jsharness`) and the probe Worker. Node.js is required
(these tests never skip)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from jsharness import Harness

from rmasim.system.worker import WorkerConfig, WorkerCoordinator, load_worker_config

WORKERS = Path(__file__).parent / "workers"


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture(scope="module")
def probe() -> Generator[WorkerCoordinator, None, None]:
    """The probe Worker (``workers/probe.js``), one host for the module's tests."""
    config = load_worker_config(WORKERS / "probe.js")
    coordinator = WorkerCoordinator.start(WorkerConfig(config.main, vars={"GREETING": "hi"}, source=config.source))
    yield coordinator
    coordinator.close()
