"""The baseline coordinator's Workers KV layout (DESIGN.md section 2), in one place.

- ``worker:{id}``     -> worker record (id, tunnel_url, services, capabilities, status, current_load,
                         available_memory, last_heartbeat, is_heartbeat_leader)
- ``worker_ids``      -> list of all worker ids
- ``service:{name}``  -> list of ids of the workers that provide the service
- ``heartbeat_leader`` -> a worker id

The ``per_worker_keys`` layout replaces both lists: ``provider:{service}:{id}`` (one key per provider, value
``{"worker_id", "service"}``) is listed by prefix, and the set of workers is ``list("worker:")``. The ``lease``
leader keeps ``leader_lease`` (holder, fencing token, renewals) in the Durable Object. ``leader_duty`` is the
record the leader's duty writes (``leader_duty`` knob): Workers KV with the naive leader, the Durable Object with
the lease.

Times in records (``last_heartbeat``, ``registered_at``) are seconds on the clock of the edge that wrote them.
"""

from __future__ import annotations

WORKER_PREFIX = "worker:"
SERVICE_PREFIX = "service:"
WORKER_IDS = "worker_ids"
HEARTBEAT_LEADER = "heartbeat_leader"
PROVIDER_PREFIX = "provider:"
LEADER_LEASE = "leader_lease"
LEADER_DUTY = "leader_duty"


def worker_key(worker_id: str) -> str:
    """``worker:{id}``: the worker's record."""
    return WORKER_PREFIX + worker_id


def service_key(service: str) -> str:
    """``service:{name}``: the service index, a list of worker ids."""
    return SERVICE_PREFIX + service


def provider_prefix(service: str) -> str:
    """``provider:{name}:``: the prefix listing a service's providers (``per_worker_keys``)."""
    return f"{PROVIDER_PREFIX}{service}:"


def provider_key(service: str, worker_id: str) -> str:
    """``provider:{name}:{id}``: one provider of a service (``per_worker_keys``)."""
    return f"{PROVIDER_PREFIX}{service}:{worker_id}"


def parse_provider_key(key: str) -> tuple[str, str]:
    """``provider:{name}:{id}`` -> ``(name, id)`` (ids never contain a colon)."""
    service, _, worker_id = key[len(PROVIDER_PREFIX) :].rpartition(":")
    return service, worker_id
