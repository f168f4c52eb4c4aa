"""The system under test: the coordinator (a Cloudflare Worker) and the worker agent, as sans-IO generators.

Nothing here imports SimPy or the simulated world; see :mod:`rmasim.system.ops` for the operations they yield.
"""

from .agent import KNOWN_SERVICES, Agent, MachineInfo
from .coordinator import BALANCERS, Coordinator, RegistrySnapshot, register_balancer, registry_snapshot

__all__ = [
    "BALANCERS",
    "KNOWN_SERVICES",
    "Agent",
    "Coordinator",
    "MachineInfo",
    "RegistrySnapshot",
    "register_balancer",
    "registry_snapshot",
]
