"""The baseline coordinator's Workers KV layout (DESIGN.md section 2), in one place.

- ``worker:{id}``     -> worker record (id, tunnel_url, services, capabilities, status, current_load,
                         available_memory, last_heartbeat, is_heartbeat_leader)
- ``worker_ids``      -> list of all worker ids
- ``service:{name}``  -> list of ids of the workers that provide the service
- ``heartbeat_leader`` -> a worker id

Times in records (``last_heartbeat``, ``registered_at``) are seconds on the clock of the edge that wrote them.
"""

from __future__ import annotations

WORKER_PREFIX = "worker:"
SERVICE_PREFIX = "service:"
WORKER_IDS = "worker_ids"
HEARTBEAT_LEADER = "heartbeat_leader"


def worker_key(worker_id: str) -> str:
    """``worker:{id}``: the worker's record."""
    return WORKER_PREFIX + worker_id


def service_key(service: str) -> str:
    """``service:{name}``: the service index, a list of worker ids."""
    return SERVICE_PREFIX + service
