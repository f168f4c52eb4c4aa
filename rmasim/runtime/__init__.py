"""The SimPy interpreter of the sans-IO system: drivers, nodes, and the operation rules."""

from .driver import PARK, Driver
from .loop import Call, Loop
from .nodes import Ctx, Edge, Machine, RequestRecord, UniformSource
from .runtime import Hooks, Runtime

__all__ = [
    "PARK",
    "Call",
    "Ctx",
    "Driver",
    "Edge",
    "Hooks",
    "Loop",
    "Machine",
    "RequestRecord",
    "Runtime",
    "UniformSource",
]
