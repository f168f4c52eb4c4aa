"""The largest input rmasim accepts: every bound a scenario file is held to, in one place.

A harness that takes a file from anyone must refuse, at the offending line and at once, what would otherwise
hang it, exhaust its memory or overflow a numpy int64: a YAML alias bomb, a 2**63 capacity, a million machines,
a century of simulated time. Each bound is far beyond what an experiment needs, and the JSON Schema shows them
(``maximum``, ``maxItems``, or the field's description when the bound relates two fields).

Where the numbers come from:

- the file: 128 KiB, 50 times the longest shipped scenario (2.3 KB) and room for the 1000 faults of the
  longest list (about 45 KB in flow style); ruamel's round-trip parser, which gives every value its line, reads
  dense YAML at 20-100 KB/s, so a bigger cap would let a file hang the loader for minutes; YAML anchors exist
  so a block is written once, not to multiply it: at most 10 000 nodes repeated through aliases, which
  refuses the 253-byte "billion laughs" at its fourth level (the expansion is counted while composing, so a
  bomb is refused in milliseconds, never expanded); 64 levels of nesting (a scenario uses 6);
- the fleet: 10 000 machines, 100x the ``balancing_100`` benchmark, each with at most 64 service containers and
  100 000 containers in all; 1000 coordinator edges (Cloudflare runs about 330 locations); 100 000 concurrent
  slots per container;
- the run: 30 simulated days (the longest shipped benchmark is one day); 50 million expected client requests
  (about 15 minutes of the engine at its measured 60 000 requests/s), and as many agent heartbeats; a million
  samples of the checkers (``duration / sample_every``);
- the lists: 1000 faults, 100 workload entries, 100 phases, 1000 expectations; a traffic burst of at most a
  million requests (drawn as one array), a crash loop of at most 10 000 cycles, a flap of at most 100 000;
  multipliers (``hot_service`` and ``service_slow`` factors) up to 10 000;
- the seed: ``0 <= seed < 2**63``, numpy's int64 range.
"""

from __future__ import annotations

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_BREAKER_CALLS",
    "MAX_BURST_REQUESTS",
    "MAX_CACHES_PER_LOCATION",
    "MAX_CAPACITY",
    "MAX_CONTAINERS",
    "MAX_CRASH_LOOP_TIMES",
    "MAX_DEPTH",
    "MAX_DURATION",
    "MAX_EDGES",
    "MAX_EXPECTATIONS",
    "MAX_FACTOR",
    "MAX_FAULTS",
    "MAX_FILE_BYTES",
    "MAX_FLAP_CYCLES",
    "MAX_HEARTBEATS",
    "MAX_ISOLATES_PER_LOCATION",
    "MAX_MACHINES",
    "MAX_NUMBER_LENGTH",
    "MAX_PHASES",
    "MAX_PROPERTIES",
    "MAX_REQUESTS",
    "MAX_SAMPLES",
    "MAX_SEED",
    "MAX_SERVICES_PER_GROUP",
    "MAX_WORKLOAD",
]

# The file and its YAML.
MAX_FILE_BYTES = 128 * 1024
"""A scenario file is at most 128 KiB; only this many bytes (plus one, to tell) are ever read."""
MAX_ALIAS_NODES = 10_000
"""Nodes repeated through YAML aliases (``*a``, ``<<: *a``), counted with their anchors' whole subtrees."""
MAX_DEPTH = 64
"""Levels of nesting of mappings and lists."""
MAX_NUMBER_LENGTH = 100
"""Characters of a number written in the file (Python refuses to read integers of 4300 digits and more)."""

# The fleet.
MAX_MACHINES = 10_000
"""Machines of a group (``count``, ``spares``, their sum), and of the whole fleet."""
MAX_SERVICES_PER_GROUP = 64
"""Service containers on each machine of a group."""
MAX_CONTAINERS = 100_000
"""Service containers in the fleet: machines x services, summed over the groups."""
MAX_EDGES = 1000
"""Coordinator edges (``coordinator.edges``)."""
MAX_ISOLATES_PER_LOCATION = 256
"""Worker isolates at one location (``coordinator.isolates_per_location``)."""
MAX_CAPACITY = 100_000
"""Concurrent slots of one service container."""
MAX_CACHES_PER_LOCATION = 64
"""KV caches of one location (``kv.caches_per_location``)."""
MAX_BREAKER_CALLS = 100_000
"""A circuit breaker's window, minimum calls and half-open trial calls."""

# The run.
MAX_DURATION = 30 * 86400.0
"""Simulated seconds of a run: 30 days."""
MAX_REQUESTS = 50_000_000
"""Expected client requests of a run: workload rate x active time, plus traffic bursts and hot services."""
MAX_HEARTBEATS = 50_000_000
"""Expected agent heartbeats of a run: machines x duration / heartbeat_interval."""
MAX_SAMPLES = 100_000
"""Samples of the checkers: duration / sample_every."""
MAX_SEED = 2**63 - 1
"""The largest root seed (seeds are numpy int64 values, 0 .. 2**63 - 1)."""

# Lists and fault sizes.
MAX_FAULTS = 1000
"""Entries of ``faults``."""
MAX_WORKLOAD = 100
"""Entries of ``workload``."""
MAX_PHASES = 100
"""Entries of ``phases``."""
MAX_EXPECTATIONS = 1000
"""``expect`` lines (per preset, when ``expect`` is a mapping)."""
MAX_PROPERTIES = 100
"""Entries of ``properties``."""
MAX_BURST_REQUESTS = 1_000_000
"""Requests of one ``traffic_burst``."""
MAX_CRASH_LOOP_TIMES = 10_000
"""Cycles of one ``crash_loop``."""
MAX_FLAP_CYCLES = 100_000
"""Cycles of one ``service_flap`` (duration / period)."""
MAX_FACTOR = 10_000.0
"""Multipliers: ``hot_service`` rate factor, ``service_slow`` service-time factor."""
