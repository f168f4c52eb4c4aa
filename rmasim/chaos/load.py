"""Load-skew faults: more traffic to one service (``hot_service``, ``traffic_burst``) and a background CPU hog.

``hot_service`` multiplies the service's Poisson rate for a while (every client of that service); a
``traffic_burst`` adds a batch of requests at uniform random times in a short window, drawn from a stream keyed by
the service and the time, so the burst is the same on every run with the seed; ``cpu_hog`` raises the target
machines' ``cpu`` load signal without taking service slots: a balancer that trusts CPU figures avoids a machine
that could serve.
"""

from __future__ import annotations

from typing import Any

from .base import Chaos, register_fault

__all__ = ["cpu_hog", "hot_service", "traffic_burst"]


@register_fault("hot_service")
def hot_service(spec: Any, chaos: Chaos) -> None:
    """``factor`` x the service's rate for ``duration`` (nested hot periods multiply)."""
    clients = chaos.clients.get(spec.service, [])
    for client in clients:
        client.set_multiplier(chaos.env, client.multiplier * spec.factor)
    chaos.record("hot_service", spec.service, bool(clients))

    def end() -> None:
        for client in clients:
            client.set_multiplier(chaos.env, client.multiplier / spec.factor)
        chaos.record("hot_service_end", spec.service, bool(clients))

    chaos.after(spec.duration, end)


@register_fault("traffic_burst")
def traffic_burst(spec: Any, chaos: Chaos) -> None:
    """``requests`` extra requests at uniform times in [at, at + within], through the service's first client."""
    clients = chaos.clients.get(spec.service, [])
    if clients:
        rng = chaos.generator(f"traffic_burst/{spec.service}/{spec.at}")
        times = sorted(chaos.env.now + rng.uniform(0.0, spec.within, spec.requests))
        clients[0].extra_requests(chaos.env, [float(t) for t in times])
    chaos.record("traffic_burst", spec.service, bool(clients))


@register_fault("cpu_hog")
def cpu_hog(spec: Any, chaos: Chaos) -> None:
    """The target machines' ``cpu`` signal rises by ``load`` for ``duration``."""
    for machine in chaos.targets(spec):
        machine.cpu_hog = min(1.0, machine.cpu_hog + spec.load)
        chaos.record("cpu_hog", machine, True)

        def end(machine: Any = machine) -> None:
            machine.cpu_hog = max(0.0, machine.cpu_hog - spec.load)
            chaos.record("cpu_hog_end", machine, True)

        chaos.after(spec.duration, end)
