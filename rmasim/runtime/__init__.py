"""The SimPy interpreter of the sans-IO system: drivers, nodes, and the operation rules."""

from .driver import PARK, Driver
from .nodes import Ctx, Edge, Machine, RequestRecord, UniformSource
from .runtime import Hooks, Runtime

__all__ = ["PARK", "Ctx", "Driver", "Edge", "Hooks", "Machine", "RequestRecord", "Runtime", "UniformSource"]
