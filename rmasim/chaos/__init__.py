"""Fault injection (the Jepsen "nemesis"): one small injector per fault action, registered by name.

Importing this package registers the built-in faults in :data:`FAULTS`: machine lifecycle (:mod:`.machine`),
crash loops and join bursts (:mod:`.fleet`), partitions (:mod:`.network`), clock jumps (:mod:`.clock`), KV
outages and lag (:mod:`.kv`), service-container faults (:mod:`.service`), load skew (:mod:`.load`) and the
attacks of a client that is none of the fleet's agents (:mod:`.attack`). See :mod:`rmasim.chaos.base` for how to
add one.
"""

from . import attack, clock, fleet, kv, load, machine, network, service  # noqa: F401 - register the built-in faults
from .base import FAULTS, Chaos, FaultRecord, register_fault

__all__ = ["FAULTS", "Chaos", "FaultRecord", "register_fault"]
