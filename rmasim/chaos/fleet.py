"""Fleet faults that unfold over time: crash loops, and bursts of machines joining.

``crash_loop``: for each of ``times`` cycles, ``every`` apart, the target machines crash (as ``crash``: no
unregister) and start again ``down_for`` later; each start is a new incarnation. A cycle that finds a machine
already down records an ineffective crash and still starts it.

``burst``: each target machine starts at ``at`` plus an independent uniform draw in ``[0, within]``. The draws
come from :meth:`Chaos.generator`, a stream keyed by the fault's target and time under the run's root seed:
deterministic per scenario and seed, and independent of every other random stream of the run.
"""

from __future__ import annotations

from typing import Any

from .base import Chaos, register_fault

__all__ = ["burst", "crash_loop"]


@register_fault("crash_loop")
def crash_loop(spec: Any, chaos: Chaos) -> None:
    """Crash the targets now and every ``spec.every`` (``spec.times`` in all), starting them ``down_for`` later."""
    machines = chaos.targets(spec)
    runtime = chaos.runtime

    def crash() -> None:
        for machine in machines:
            chaos.record("crash", machine, runtime.crash_machine(machine))

    def start() -> None:
        for machine in machines:
            chaos.record("start", machine, runtime.start_machine(machine))

    crash()
    chaos.after(spec.down_for, start)
    for cycle in range(1, spec.times):
        chaos.after(cycle * spec.every, crash)
        chaos.after(cycle * spec.every + spec.down_for, start)


@register_fault("burst")
def burst(spec: Any, chaos: Chaos) -> None:
    """Start each target at an independent uniform random time within ``spec.within`` from now."""
    machines = chaos.targets(spec)
    offsets = chaos.generator(f"burst/{spec.target}@{spec.at!r}").uniform(0.0, spec.within, len(machines))
    for machine, offset in zip(machines, offsets.tolist(), strict=True):

        def start(machine: Any = machine) -> None:
            chaos.record("start", machine, chaos.runtime.start_machine(machine))

        chaos.after(offset, start)
