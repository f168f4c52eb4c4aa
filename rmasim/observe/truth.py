"""Ground truth: which worker ids belong to a live agent, and which services those machines really serve.

The coordinator reports each id it creates with a ``worker_id_assigned`` trace carrying the tunnel URL; the
truth ties the id to that machine's *current incarnation*. An id is live while that incarnation runs
(``state == up``); a crash, a stop or a restart (a new incarnation) makes it dead for good.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GroundTruth"]


class GroundTruth:
    """Id ownership and liveness, from traces and the machines' own state."""

    def __init__(self, machines_by_tunnel: dict[str, Any]) -> None:
        self._by_tunnel = machines_by_tunnel
        self.owner: dict[str, tuple[Any, int]] = {}
        self.ids_of: dict[tuple[str, int], list[str]] = {}

    def assign(self, worker_id: str, tunnel_url: Any) -> Any:
        """The coordinator created (or, with a stable identity, re-issued) ``worker_id`` for the agent behind
        ``tunnel_url``; returns that machine, or None for an unknown tunnel (or a tunnel_url that is no string: the
        baseline stores a malformed registration as it comes)."""
        machine = self._by_tunnel.get(tunnel_url) if isinstance(tunnel_url, str) else None
        if machine is None:
            return None
        self.owner[worker_id] = (machine, machine.incarnation)
        self.ids_of.setdefault((machine.name, machine.incarnation), []).append(worker_id)
        return machine

    def machine_of(self, worker_id: str) -> Any:
        owner = self.owner.get(worker_id)
        return owner[0] if owner else None

    def is_live(self, worker_id: str) -> bool:
        owner = self.owner.get(worker_id)
        if owner is None:
            return False
        machine, incarnation = owner
        return machine.up and machine.incarnation == incarnation

    def serving(self) -> dict[str, frozenset[str]]:
        """Live id -> names of the services whose container is up on its machine (sampled often: the names are
        computed once per machine and shared by its ids)."""
        result = {}
        per_machine: dict[int, frozenset[str]] = {}
        for worker_id, (machine, incarnation) in self.owner.items():
            if machine.state == "up" and machine.incarnation == incarnation:
                names = per_machine.get(id(machine))
                if names is None:
                    names = per_machine[id(machine)] = frozenset(n for n, c in machine.containers.items() if c.up)
                result[worker_id] = names
        return result
