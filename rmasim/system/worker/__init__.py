"""A team's own Cloudflare Worker (JavaScript) as the coordinator, run by a Node.js host in simulated time.

``coordinator.worker`` in a scenario names a ``wrangler.toml`` or a ``.js`` module (:mod:`.config`); the engine
then builds a :class:`WorkerCoordinator` instead of the Python coordinator. Every invocation of the Worker is a
generator of :mod:`rmasim.system.ops` operations, like the Python handlers, so the runtime, the world and the
checkers treat both alike (DESIGN.md section 10). See :mod:`.coordinator` for the invocation loop,
:mod:`.protocol` for the lockstep messages and ``rmasim/js/host.mjs`` for the JavaScript side.
"""

from . import bundle
from .config import DEFAULT_KV_BINDING, WorkerConfig, load_worker_config, resolve_worker_path
from .coordinator import (
    CRON_TICK,
    RESPONSE_LIMIT,
    SCHEDULED_LIMIT,
    WAIT_UNTIL_LIMIT,
    BaselineWitness,
    Invocable,
    Witness,
    WorkerCoordinator,
)
from .cron import CronSchedule
from .host import HOST_SCRIPT, MIN_NODE, HostDied, NodeHost, NodeNotFound, check_worker, find_node
from .protocol import HostLink

__all__ = [
    "CRON_TICK",
    "DEFAULT_KV_BINDING",
    "HOST_SCRIPT",
    "MIN_NODE",
    "RESPONSE_LIMIT",
    "SCHEDULED_LIMIT",
    "WAIT_UNTIL_LIMIT",
    "BaselineWitness",
    "CronSchedule",
    "HostDied",
    "HostLink",
    "Invocable",
    "NodeHost",
    "NodeNotFound",
    "Witness",
    "WorkerConfig",
    "WorkerCoordinator",
    "bundle",
    "check_worker",
    "find_node",
    "load_worker_config",
    "resolve_worker_path",
]
