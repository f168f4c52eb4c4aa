"""Load balancers: how the proxy picks one provider among the candidates it found.

A balancer is a generator function ``(candidates, isolate) -> chosen record`` that may yield operations (a
random draw, the clock) and may keep state in the edge's :class:`~.isolate.Isolate` (a round-robin counter, say).
``candidates`` is a non-empty list of worker records. Register one with ``@register_balancer("name")``; the
policy knob ``balancer`` selects it by name, and the engine refuses unknown names with the scenario's line.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from ...registry import Registry
from ..ops import Random
from .isolate import Isolate

__all__ = ["BALANCERS", "Balancer", "register_balancer"]

Balancer = Callable[[list[dict[str, Any]], Isolate], Generator[Any, Any, dict[str, Any]]]
BALANCERS: Registry[Balancer] = Registry("balancer")
#: Decorator: ``@register_balancer("name")`` registers a balancer.
register_balancer = BALANCERS.register


_RANDOM = Random()  # an immutable operation: one instance serves every draw


@register_balancer("random")
def uniform_random(candidates: list[dict[str, Any]], isolate: Isolate) -> Generator[Any, Any, dict[str, Any]]:
    """The seed's ``healthyWorkers[Math.floor(Math.random() * healthyWorkers.length)]`` (flaw #8)."""
    return candidates[int((yield _RANDOM) * len(candidates))]
