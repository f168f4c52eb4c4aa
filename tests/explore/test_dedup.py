"""Deduplication: signatures of violations, and distinct failures counted from hand-made rows."""

from __future__ import annotations

import json

from rmasim.explore import distinct_failures, signature
from rmasim.explore.dedup import relevant_faults, role

CRASH = {"action": "crash", "at": "40s", "target": "gpu/0"}
OTHER = {"action": "partition", "at": "50s", "target": "gpu/1", "duration": "10s"}
LATE = {"action": "kv_outage", "at": "5m", "duration": "10s"}


def test_roles():
    assert [role(e) for e in ("gpu/3", "worker-5667-lsthoi318", "lease-12")] == ["gpu", "worker", "lease-#"]


def test_only_the_faults_that_may_have_caused_it_count():
    entities = ("worker-1-a", "gpu/0")
    assert relevant_faults([CRASH, OTHER, LATE], 280.0, entities) == [CRASH]
    assert relevant_faults([CRASH, OTHER, LATE], 400.0, ()) == [CRASH, OTHER, LATE]
    assert signature("no_dead_in_index", [CRASH, OTHER, LATE], 280.0, entities) == (
        "no_dead_in_index: crash -> gpu,worker"
    )
    assert signature("settles", [LATE], 100.0, ()) == "settles: no fault -> -"


def test_equal_signatures_are_one_failure():
    def row(run, *sigs):
        return {"run": run, "signatures": json.dumps([[s.partition(":")[0], s] for s in sigs]),
                "no_dead_in_index.violated_at": 200.0 + run, "no_dead_in_index.entities": f"gpu/{run}"}  # fmt: skip

    a, b = "no_dead_in_index: crash -> gpu,worker", "no_dead_in_index: restart -> gpu,worker"
    failures = distinct_failures([row(3, a), row(0), row(1, a, b), row(2, b), row(4, a)])
    assert [(f.signature, f.count, f.runs, f.violated_at, f.entities) for f in failures] == [
        (a, 3, [1, 3, 4], 201.0, "gpu/1"),
        (b, 2, [1, 2], 201.0, "gpu/1"),
    ]
