"""Network faults: cut machines' agents off from the coordinator.

``partition``: one :meth:`rmasim.world.Network.partition` between the target machines' nodes
(``agent/<group>/<index>``) and every coordinator edge (``edge/*``), healed after ``duration``. Two-way, it drops
agent -> edge calls (heartbeats, registrations: the agent sees a timeout) and edge -> agent traffic (answers,
and the coordinator's forwards to the tunnels, which run on the agent's node); one-way, only agent -> edge
messages. Partitions stack: healing this one leaves any other in place.
"""

from __future__ import annotations

from typing import Any

from .base import Chaos, register_fault

__all__ = ["partition"]


@register_fault("partition")
def partition(spec: Any, chaos: Chaos) -> None:
    """Cut the targets' agents from ``edge/*`` now; heal after ``spec.duration``."""
    machines = chaos.targets(spec)
    net = chaos.runtime.net
    handle = net.partition([m.node for m in machines], ["edge/*"], oneway=spec.oneway)
    for machine in machines:
        chaos.record("partition", machine, True)

    def heal() -> None:
        net.heal(handle)
        for machine in machines:
            chaos.record("heal", machine, True)

    chaos.after(spec.duration, heal)
