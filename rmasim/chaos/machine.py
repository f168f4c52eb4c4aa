"""Machine lifecycle faults: crash (power loss), graceful stop, start, and restart."""

from __future__ import annotations

from typing import Any

from ..system.ops import Shutdown
from .base import Chaos, register_fault

__all__ = ["crash", "restart", "start", "stop"]


@register_fault("crash")
def crash(spec: Any, chaos: Chaos) -> None:
    """Power loss (``docker-compose kill``): no unregister, ids stay wherever the registry put them."""
    for machine in chaos.targets(spec):
        chaos.record("crash", machine, chaos.runtime.crash_machine(machine))


@register_fault("stop")
def stop(spec: Any, chaos: Chaos) -> None:
    """Graceful stop (``docker-compose stop``): services go down and the agent unregisters."""
    for machine in chaos.targets(spec):
        chaos.record("stop", machine, chaos.runtime.stop_machine(machine, Shutdown()))


@register_fault("start")
def start(spec: Any, chaos: Chaos) -> None:
    """Boot a machine that is down (a spare joining, or a crashed/stopped one coming back)."""
    for machine in chaos.targets(spec):
        chaos.record("start", machine, chaos.runtime.start_machine(machine))


@register_fault("restart")
def restart(spec: Any, chaos: Chaos) -> None:
    """Crash, then boot again after ``down_for``: the new agent registers under a new id."""
    for machine in chaos.targets(spec):
        chaos.record("crash", machine, chaos.runtime.crash_machine(machine))

        def boot(_event: Any, machine: Any = machine) -> None:
            chaos.record("start", machine, chaos.runtime.start_machine(machine))

        chaos.env.timeout(spec.down_for).callbacks.append(boot)
