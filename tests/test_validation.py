"""Queueing-theory validation: with every overhead set to zero, a request's time is queueing plus service, and
the figures must match M/M/1, Erlang C (M/M/c) and the load-spread arithmetic.

Zero overhead: network, KV and Durable Object latencies are ``0s`` (a plain duration is a constant). The registry
is the Durable Object with stable identities (``identity: fingerprint``), so every machine is listed exactly once
from its registration at boot (all boot at t=0), and the ``random`` balancer splits the Poisson stream evenly:
each of n machines sees a Poisson stream of rate lambda / n (thinning). The proxy timeout is an hour, so no
request is cut short. The service is ``upload``, one the baseline agent discovers.

Tolerances come from the runs: each case runs several seeds; the mean of a figure over the seeds has a 95%
Student-t interval, and the theoretical value must lie within that interval widened to twice its half-width
(there are some forty comparisons here: plain 95% intervals would miss one now and then by chance alone, say
after a change that moves the random draws) and within 5% of the mean. Warmup removes the empty start: it is
long against the relaxation time of the queue, about 1 / (mu (1 - sqrt(rho))^2), which is 90 s at rho = 0.8.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import rmasim
from rmasim.scenario import load_scenario_text

MU = 1.0  # service rate of a slot: exponential service times of mean 1 s
EXPONENTIAL = "{dist: exponential, mean: 1s}"
WIDEN = 2.0
REL = 0.05

Runs = tuple[list[dict], list[dict[str, float]]]
"""Per seed: the summary, and each machine's utilization rebuilt from its requests (:func:`busy_shares`)."""


def group(name: str, count: int, slots: int = 1, service_time: str = EXPONENTIAL, speed: float = 1.0) -> str:
    return (
        f"{name}: {{count: {count}, start_within: 0s, speed: {speed}, "
        f"services: {{upload: {{capacity: {slots}, service_time: {service_time}}}}}}}"
    )


def scenario(
    groups: list[str], rate: float, duration: float, warmup: float, stop: float | None = None
) -> rmasim.Scenario:
    """A zero-overhead scenario: the fleet ``groups``, Poisson ``rate``/s to ``upload`` (until ``stop``)."""
    fleet = "\n".join(f"  {g}" for g in groups)
    until = f", stop: {stop}s" if stop is not None else ""
    return load_scenario_text(
        f"""
name: validation
duration: {duration}s
warmup: {warmup}s
coordinator: {{preset: baseline, balancer: random, identity: fingerprint, registry_layout: strong, request_timeout: 1h}}
kv: {{read_latency: 0s, write_latency: 0s, strong: {{read_latency: 0s, write_latency: 0s}}}}
network: {{latency: 0s}}
fleet:
{fleet}
workload:
  - {{service: upload, rate: {rate}/s{until}}}
"""
    )


def fifo_starts(arrival: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Start times at a single FIFO slot: each request starts at its arrival or at the previous one's finish."""
    return np.maximum(arrival, np.concatenate(([-math.inf], done[:-1])))


def busy_shares(requests: pd.DataFrame, warmup: float, end: float) -> dict[str, float]:
    """Machine -> share of ``[warmup, end]`` its single slot spent serving, from its requests alone (the request
    still running at the end is not logged: a few seconds of the window at most)."""
    shares = {}
    for machine, req in requests[requests.outcome == "ok"].groupby("target", observed=True):
        req = req.sort_values("t_arrival")
        done = req.t_done.to_numpy()
        start = fifo_starts(req.t_arrival.to_numpy(), done)
        busy = np.clip(done, warmup, end) - np.clip(start, warmup, end)
        shares[str(machine)] = float(busy.sum() / (end - warmup))
    return shares


def run_seeds(s: rmasim.Scenario, seeds: int) -> Runs:
    summaries, shares = [], []
    for seed in range(seeds):
        result = rmasim.run(s, seed=seed)
        assert result.summary["routing.success_rate"] == 1.0
        summaries.append(result.summary)
        shares.append(busy_shares(result.requests, s.warmup, s.duration))
    return summaries, shares


def interval(values: list[float]) -> tuple[float, float]:
    """Mean over the seeds and the half-width of its 95% Student-t interval."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return float(x.mean()), float(half)


def assert_agrees(values: list[float], theory: float, what: str) -> None:
    """Theory within the widened interval and within 5%; the figures are printed (``pytest -s`` shows them)."""
    mean, half = interval(values)
    shown = f"{what}: theory {theory:.4f}, measured {mean:.4f} +- {half:.4f} ({(mean - theory) / theory:+.2%})"
    print(shown)
    assert abs(mean - theory) <= WIDEN * half, shown
    assert abs(mean - theory) <= REL * abs(theory), shown


def assert_key(summaries: list[dict], key: str, theory: float) -> None:
    assert_agrees([s[key] for s in summaries], theory, key)


def assert_spread_of(runs: Runs) -> None:
    """The summary's spread figures are those of the rebuilt utilizations, and Jain = 1 / (1 + CV^2)."""
    for summary, shares in zip(*runs, strict=True):
        u = np.array(list(shares.values()))
        assert summary["load.workers"] == u.size
        assert summary["load.utilization.mean"] == pytest.approx(u.mean(), abs=2e-3)
        assert summary["load.utilization.max"] == pytest.approx(u.max(), abs=2e-3)
        assert summary["load.cv"] == pytest.approx(u.std() / u.mean(), abs=1e-2)
        assert summary["load.jain"] == pytest.approx(1 / (1 + summary["load.cv"] ** 2), abs=1e-12)


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``a = lambda / mu`` (< c)."""
    tail = a**c / math.factorial(c) * c / (c - a)
    return tail / (sum(a**k / math.factorial(k) for k in range(c)) + tail)


def geometric_quantile(rho: float, p: float) -> int:
    """The smallest k with P(N <= k) = 1 - rho^(k+1) >= p: the p-quantile of the number in an M/M/1 system."""
    return math.ceil(math.log(1 - p) / math.log(rho) - 1 - 1e-12)


@pytest.fixture(scope="module", params=[0.5, 0.8], ids=["rho0.5", "rho0.8"])
def mm1(request: pytest.FixtureRequest) -> tuple[float, Runs]:
    """Random over 4 single-slot machines at ``rho`` each: 4 M/M/1 queues (longer, with more warmup and seeds,
    at the higher load, whose figures vary more)."""
    rho = request.param
    duration, warmup, seeds = (7200.0, 300.0, 6) if rho == 0.5 else (10800.0, 600.0, 8)
    return rho, run_seeds(scenario([group("m", 4)], 4 * rho * MU, duration, warmup), seeds)


def test_mm1_mean_sojourn(mm1: tuple[float, Runs]) -> None:
    """M/M/1: mean time in system 1 / (mu - lambda)."""
    rho, (summaries, _) = mm1
    assert_key(summaries, "latency.mean", 1.0 / (MU - rho * MU))


def test_mm1_waiting(mm1: tuple[float, Runs]) -> None:
    """M/M/1: an arrival waits with probability rho (Erlang C with c = 1), for rho / (mu - lambda) on average."""
    rho, (summaries, _) = mm1
    assert_key(summaries, "load.wait.share", rho)
    assert_key(summaries, "load.wait.mean", rho / (MU - rho * MU))


def test_mm1_in_flight(mm1: tuple[float, Runs]) -> None:
    """Arrivals see time averages (PASTA): the mean number in system is rho / (1 - rho); the number is
    geometric, P(N <= k) = 1 - rho^(k+1). A 99th percentile of counts moves by whole steps, so each run's must
    lie between the law's 98th and 99.8th percentiles and their mean within one step of its 99th."""
    rho, (summaries, _) = mm1
    assert_key(summaries, "load.in_flight.mean", rho / (1 - rho))
    p99 = [s["load.in_flight.p99"] for s in summaries]
    low, high = geometric_quantile(rho, 0.98), geometric_quantile(rho, 0.998)
    assert all(low <= p <= high for p in p99), (p99, low, high)
    assert abs(np.mean(p99) - geometric_quantile(rho, 0.99)) <= 1.0


def test_mm1_utilization(mm1: tuple[float, Runs]) -> None:
    """Each machine gets lambda / n and is busy rho = lambda / (n mu) of the time, and so is the mean over the
    machines; the summary's spread figures are those of the machines' utilizations."""
    rho, runs = mm1
    summaries, shares = runs
    assert_key(summaries, "load.utilization.mean", rho)
    for machine in shares[0]:
        assert_agrees([s[machine] for s in shares], rho, f"utilization of {machine}")
    assert_spread_of(runs)


@pytest.fixture(scope="module")
def mmc() -> list[dict]:
    """One machine with c = 4 slots at lambda = 3/s: M/M/4 with a = 3."""
    return run_seeds(scenario([group("m", 1, slots=4)], 3.0, 10800.0, 120.0), 8)[0]


def test_mmc_erlang_c(mmc: list[dict]) -> None:
    """M/M/c: probability of waiting C(c, a) and mean wait C / (c mu - lambda); the sojourn adds 1 / mu; by Little
    and PASTA, arrivals find lambda x sojourn in flight on average; the slots are busy a / c of the time."""
    c, lam = 4, 3.0
    a = lam / MU
    wait_probability = erlang_c(c, a)
    wait = wait_probability / (c * MU - lam)
    assert_key(mmc, "load.wait.share", wait_probability)
    assert_key(mmc, "load.wait.mean", wait)
    assert_key(mmc, "latency.mean", wait + 1 / MU)
    assert_key(mmc, "load.in_flight.mean", lam * (wait + 1 / MU))
    assert_key(mmc, "load.utilization.mean", a / c)


def test_erlang_c_formula() -> None:
    """The formula on cases worked by hand: one slot waits with probability rho; C(2, 1) = 1/3 (tail 1/2 x 2/1
    = 1, head 1 + 1 = 2)."""
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_load_spread_with_two_speeds() -> None:
    """Random over two machines of speed 1 and two of speed 2 at 0.5/s each: utilizations 1/2, 1/2, 1/4, 1/4, so
    mean 3/8, max/mean 4/3, CV = std / mean = (1/8) / (3/8) = 1/3 and Jain (3/2)^2 / (4 x 5/8) = 0.9."""
    runs = run_seeds(scenario([group("slow", 2), group("fast", 2, speed=2.0)], 2.0, 7200.0, 120.0), 6)
    summaries, shares = runs
    for machine, theory in [("slow/0", 0.5), ("slow/1", 0.5), ("fast/0", 0.25), ("fast/1", 0.25)]:
        assert_agrees([s[machine] for s in shares], theory, f"utilization of {machine}")
    assert_key(summaries, "load.utilization.mean", 3 / 8)
    assert_key(summaries, "load.cv", 1 / 3)
    assert_key(summaries, "load.jain", 0.9)
    assert_spread_of(runs)


def test_zero_overhead_latency_is_wait_plus_service() -> None:
    """A constant 1 s service on one single-slot machine: each request finishes exactly 1 s after it starts, and
    starts at its arrival or when the previous request finishes (FIFO), so its latency is exactly its wait plus
    its service. Arrivals stop a minute before the end so that all finish: the container's figures then count
    the same requests, and its busy time is 1 s each."""
    duration = 3600.0
    result = rmasim.run(scenario([group("m", 1, service_time="1s")], 0.5, duration, 0.0, stop=duration - 60))
    req = result.requests.sort_values("t_arrival")
    assert (req.outcome == "ok").all()
    arrival, done = req.t_arrival.to_numpy(), req.t_done.to_numpy()
    start = fifo_starts(arrival, done)
    assert (done == start + 1.0).all()
    waited = start > arrival
    assert 0 < waited.sum() < len(req)  # both cases occur
    np.testing.assert_allclose(req.latency.to_numpy(), start - arrival + 1.0, rtol=0, atol=1e-9)
    s = result.summary
    assert s["routing.requests"] == len(req)
    assert s["load.wait.share"] == waited.sum() / len(req)
    assert s["load.wait.mean"] == pytest.approx((start - arrival).mean(), rel=1e-9)
    assert s["load.utilization.mean"] == pytest.approx(len(req) / duration, rel=1e-12)
