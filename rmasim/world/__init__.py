"""The simulated world: KV stores, clocks, network, service containers and named random streams.

Pure data structures with explicit time: nothing here imports SimPy. Every method takes ``now`` (true
simulated seconds, non-decreasing across calls) and returns its result plus, where time passes, the latency
the caller must wait; the runtime turns latencies into SimPy timeouts. Constructors take plain numbers and
samplers; each class also has ``from_config(cfg, ...)`` reading the scenario's attribute names
(``rmasim.scenario`` models).
"""

from rmasim.world.clock import Clock
from rmasim.world.dns import DNS, Rebinding
from rmasim.world.kv import (
    KINDS,
    KV_UNAVAILABLE,
    MAX_BULK_GET,
    MAX_LIST_PAGE,
    MAX_METADATA_BYTES,
    MIN_EXPIRATION_TTL,
    KVStats,
    KVStatus,
    KVStore,
    StrongKV,
    WorkersKV,
    build_kv,
    expiration_error,
    key_family,
)
from rmasim.world.net import Network, Partition
from rmasim.world.rng import Constant, Dist, Sampler, Streams, as_sampler, spawn_key
from rmasim.world.service import Admission, ServiceContainer
from rmasim.world.strong import DOStats

__all__ = [
    "DNS",
    "KINDS",
    "KV_UNAVAILABLE",
    "MAX_BULK_GET",
    "MAX_LIST_PAGE",
    "MAX_METADATA_BYTES",
    "MIN_EXPIRATION_TTL",
    "Admission",
    "Clock",
    "Constant",
    "DOStats",
    "Dist",
    "KVStats",
    "KVStatus",
    "KVStore",
    "Network",
    "Partition",
    "Rebinding",
    "Sampler",
    "ServiceContainer",
    "Streams",
    "StrongKV",
    "WorkersKV",
    "as_sampler",
    "build_kv",
    "expiration_error",
    "key_family",
    "spawn_key",
]
