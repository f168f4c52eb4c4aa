"""Clock faults: step a coordinator edge's clock.

``clock_jump``: :meth:`rmasim.world.Clock.jump` on edge ``spec.edge`` by ``spec.delta`` at the current true time.
The edge's ``Now`` reads include the step from then on, so the timestamps it writes (``last_heartbeat``,
``registered_at``) and the ages it computes (offline detection) move with it; its timers do not.
"""

from __future__ import annotations

from typing import Any

from .base import Chaos, register_fault

__all__ = ["clock_jump"]


@register_fault("clock_jump")
def clock_jump(spec: Any, chaos: Chaos) -> None:
    """Step edge ``spec.edge``'s clock by ``spec.delta`` seconds now."""
    edge = chaos.edge(spec)
    edge.clock.jump(spec.delta, chaos.env.now)
    chaos.record("clock_jump", edge, spec.delta != 0)
