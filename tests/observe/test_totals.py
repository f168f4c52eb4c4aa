"""Request totals: a run that keeps no row per request (``request_records: false``) gives the rows' figures.

Counts, rates and shares must be equal to the rows' exactly; latency percentiles within the histogram's bound
(a bin's midpoint is within 2**-9 of any value in it, relative) and the latency mean within float rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rmasim
from rmasim.observe import RequestLog
from rmasim.observe.properties import default_properties
from rmasim.observe.totals import LatencyHistogram, RequestTotals
from rmasim.report.artifacts import write_run
from rmasim.runtime.nodes import RequestRecord
from rmasim.scenario import ScenarioError

BOUND = 2.0**-9
"""The histogram's relative error on an order statistic (see LatencyHistogram)."""


def _is_latency(key: str) -> bool:
    return key.startswith("latency.") or ".latency." in key


@pytest.mark.parametrize("q", [0.0, 1.0, 25.0, 50.0, 95.0, 99.0, 99.9, 100.0])
def test_histogram_percentiles_are_within_the_bin_bound(q):
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.lognormal(-2.0, 1.5, 20_000), np.zeros(30), [1e-7, 400.0]])
    histogram = LatencyHistogram()
    for v in values.tolist():
        histogram.add(v)
    exact = float(np.percentile(values, q))
    assert histogram.size == values.size
    assert abs(histogram.percentile(q) - exact) <= BOUND * exact + 1e-300
    assert histogram.mean() == pytest.approx(float(values.mean()), rel=1e-12)


def test_histogram_of_one_value_and_its_memory_bound():
    histogram = LatencyHistogram()
    histogram.add(0.25)
    assert histogram.percentile(50.0) == pytest.approx(0.25, rel=BOUND)
    # a million latencies between 1 ms and 60 s occupy at most SUB bins per octave of that range
    rng = np.random.default_rng(1)
    for v in rng.uniform(1e-3, 60.0, 100_000).tolist():
        histogram.add(v)
    octaves = math.ceil(math.log2(60.0 / 1e-3)) + 1
    assert len(histogram._bins) <= LatencyHistogram.SUB * octaves


def _records(n: int, seed: int = 3) -> list[tuple[RequestRecord, str]]:
    """Hand-made finished requests over 0-100 s: two services, two versions, broken and down targets, retries."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = float(rng.uniform(0.0, 100.0))
        ok = rng.random() < 0.8
        record = RequestRecord(
            rid=i,
            service=["upload", "rag"][i % 2],
            edge=i % 3,
            t_arrival=t,
            t_done=t + float(rng.exponential(0.05)),
            status=200 if ok else int(rng.choice([400, 502, 503])),
            attempts=int(rng.integers(0, 4)),
            target=None if rng.random() < 0.1 else f"m{int(rng.integers(0, 5))}",
            target_up=bool(rng.random() < 0.9),
            target_broken=bool(rng.random() < 0.05),
            version=(["v1", "v2"][int(rng.integers(0, 2))] if ok else None),
            refused=int(rng.integers(0, 2)),
        )
        out.append((record, "ok" if ok else "service_error"))
    return out


def test_totals_equal_the_rows_totals_of_each_window():
    windows = [(10.0, math.inf), (20.0, 50.0), (0.0, 30.0)]
    log, totals = RequestLog(), RequestTotals(windows)
    for record, outcome in _records(3_000):
        log.append(record, outcome)
        totals.append(record, outcome)
    assert len(totals) == len(log) == 3_000
    assert totals.bad_requests == log.bad_requests > 0
    assert totals.target_counts == log.target_counts
    assert totals.forwards_to_down() == log.forwards_to_down() != []
    assert list(totals.services) == list(log.services)
    for start, end in windows:
        streamed, exact = totals.totals(start, end), log.totals(start, end)
        for name in ("outcomes", "attempts", "retries", "refused", "versions", "to_broken", "first_broken",
                     "last_broken"):  # fmt: skip
            assert getattr(streamed, name) == getattr(exact, name), name
        assert streamed.requests == exact.requests > 0
        assert sorted(streamed.services) == sorted(exact.services)
        for service, mine in streamed.services.items():
            theirs = exact.services[service]
            assert (mine.requests, mine.ok, mine.served_by) == (theirs.requests, theirs.ok, theirs.served_by)
            for q in (50.0, 99.0):
                assert mine.latency.percentile(q) == pytest.approx(theirs.latency.percentile(q), rel=BOUND)
    with pytest.raises(ValueError, match=r"no request totals for \[5, 6\)"):
        totals.totals(5.0, 6.0)
    with pytest.raises(RuntimeError):
        totals.add_window(1.0, 2.0)


def _both(path: str, **overrides):
    scenario = rmasim.load_scenario(path)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    rows = rmasim.run(scenario, properties=default_properties())
    totals = rmasim.run(scenario.with_overrides({"request_records": False}), properties=default_properties())
    return rows, totals


@pytest.mark.parametrize("path", ["scenarios/crash.yaml", "scenarios/canary.yaml"])
def test_a_run_keeping_totals_gives_the_rows_summary(path):
    rows, totals = _both(path)
    assert isinstance(totals.request_log, RequestTotals)
    assert set(rows.summary) == set(totals.summary)
    latency = [k for k in rows.summary if _is_latency(k) and rows.summary[k] is not None]
    assert latency  # the comparison below covers percentiles
    for key, value in rows.summary.items():
        if key in latency:
            assert totals.summary[key] == pytest.approx(value, rel=BOUND), key
        else:
            assert totals.summary[key] == value, key
    assert [(p.name, p.violated_at) for p in totals.properties] == [(p.name, p.violated_at) for p in rows.properties]


def test_a_totals_run_has_no_request_rows_and_writes_none(tmp_path):
    scenario = rmasim.load_scenario("scenarios/crash.yaml").with_overrides(
        {"request_records": False, "duration": "3m", "faults": []}
    )
    result = rmasim.run(scenario)
    with pytest.raises(LookupError, match="request_records: false"):
        result.requests  # noqa: B018
    assert result.request_rows().empty
    out = write_run(result, tmp_path / "report")
    assert (out / "summary.json").exists() and (out / "timeline.png").exists()
    assert not (out / "requests.parquet").exists()
    assert "request_records: false" in (out / "scenario.yaml").read_text()


def test_the_recovery_trigger_needs_request_rows(tmp_path):
    path = tmp_path / "trigger.yaml"
    path.write_text(
        "name: trigger\nduration: 10m\nrequest_records: false\nphases:\n  trigger: {start: 1m, end: 2m}\n"
        "fleet:\n  gpu:\n    count: 2\n    services:\n      upload: {}\n"
    )
    with pytest.raises(ScenarioError, match=r"phases\.trigger.*request_records: true"):
        rmasim.engine.check_scenario(rmasim.load_scenario(path))
