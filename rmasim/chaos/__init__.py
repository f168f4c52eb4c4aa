"""Fault injection (the Jepsen "nemesis"): one small injector per fault action, registered by name.

Importing this package registers the built-in faults in :data:`FAULTS`; see :mod:`rmasim.chaos.base` for how
to add one.
"""

from . import machine  # noqa: F401 - registers the machine lifecycle faults
from .base import FAULTS, Chaos, FaultRecord, register_fault

__all__ = ["FAULTS", "Chaos", "FaultRecord", "register_fault"]
