"""Service-container faults: one container on the target machines breaks while its agent runs on.

``service_crash`` (optionally restarting after ``down_for``), ``service_slow`` (service time x ``factor``),
``service_errors`` (a share of 500s), ``service_hang`` (accepts, never answers), ``service_flap`` (down for the
first half of every ``period``) and ``rolling_upgrade`` (each machine's container replaced by a new version in
turn). The lasting ones end after ``duration``; a container of a machine that is not up is left alone (the
machine's own start brings its containers back).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Chaos, register_fault

__all__ = ["rolling_upgrade", "service_crash", "service_errors", "service_flap", "service_hang", "service_slow"]


def _containers(spec: Any, chaos: Chaos) -> list[tuple[Any, Any]]:
    return [(m, m.containers[spec.service]) for m in chaos.targets(spec)]


def _crash(machine: Any, container: Any, chaos: Chaos) -> bool:
    was_up = container.up
    container.crash(chaos.env.now)
    return was_up


def _restart(machine: Any, container: Any, chaos: Chaos) -> bool:
    if machine.state != "up" or container.up:
        return False
    container.restart(chaos.env.now)
    return True


@register_fault("service_crash")
def service_crash(spec: Any, chaos: Chaos) -> None:
    """The container dies now; with ``down_for`` its runtime restarts it after that long."""
    for machine, container in _containers(spec, chaos):
        chaos.record("service_crash", machine, _crash(machine, container, chaos))
        if spec.down_for is not None:

            def restart(machine: Any = machine, container: Any = container) -> None:
                chaos.record("service_restart", machine, _restart(machine, container, chaos))

            chaos.after(spec.down_for, restart)


def _lasting(spec: Any, chaos: Chaos, set_on: Callable[[Any], None], set_off: Callable[[Any], None]) -> None:
    for machine, container in _containers(spec, chaos):
        set_on(container)
        chaos.record(spec.action, machine, True)

        def end(machine: Any = machine, container: Any = container) -> None:
            set_off(container)
            chaos.record(f"{spec.action}_end", machine, True)

        chaos.after(spec.duration, end)


@register_fault("service_slow")
def service_slow(spec: Any, chaos: Chaos) -> None:
    """Requests admitted during ``duration`` take ``factor`` times their service time."""
    _lasting(spec, chaos, lambda c: setattr(c, "slow", spec.factor), lambda c: setattr(c, "slow", 1.0))


@register_fault("service_errors")
def service_errors(spec: Any, chaos: Chaos) -> None:
    """A share ``rate`` of the requests admitted during ``duration`` end in a 500."""
    _lasting(spec, chaos, lambda c: setattr(c, "error_rate", spec.rate), lambda c: setattr(c, "error_rate", 0.0))


@register_fault("service_hang")
def service_hang(spec: Any, chaos: Chaos) -> None:
    """The container accepts and never answers during ``duration``."""
    _lasting(spec, chaos, lambda c: setattr(c, "hung", True), lambda c: setattr(c, "hung", False))


@register_fault("service_flap")
def service_flap(spec: Any, chaos: Chaos) -> None:
    """Down for the first half of every ``period`` during ``duration``, up at the end."""
    half = spec.period / 2.0
    for machine, container in _containers(spec, chaos):
        t = 0.0
        while t < spec.duration:

            def down(machine: Any = machine, container: Any = container) -> None:
                if machine.state == "up":
                    chaos.record("service_crash", machine, _crash(machine, container, chaos))

            def up(machine: Any = machine, container: Any = container) -> None:
                chaos.record("service_restart", machine, _restart(machine, container, chaos))

            chaos.after(t, down)
            chaos.after(min(t + half, spec.duration), up)
            t += spec.period


@register_fault("rolling_upgrade")
def rolling_upgrade(spec: Any, chaos: Chaos) -> None:
    """Replace the container by ``spec.version`` on one target machine every ``spec.every``, in index order."""
    for turn, (machine, container) in enumerate(_containers(spec, chaos)):

        def replace(machine: Any = machine, container: Any = container) -> None:
            if machine.state != "up" or container.version == spec.version:
                chaos.record("rolling_upgrade", machine, False)
                return
            container.crash(chaos.env.now)
            chaos.record("rolling_upgrade", machine, True)

            def start_new(machine: Any = machine, container: Any = container) -> None:
                container.version = spec.version
                chaos.record("service_restart", machine, _restart(machine, container, chaos))

            chaos.after(spec.down_for, start_new)

        chaos.after(turn * spec.every, replace)
