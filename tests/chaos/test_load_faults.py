"""Load-skew faults and traffic shapes on small whole runs, against the Poisson counts they imply.

Counts of Poisson arrivals are checked within 4 standard deviations (sqrt of the expected count).
"""

from __future__ import annotations

import math

import pytest

import rmasim
from rmasim.scenario import load_scenario_text

BOXES = """\
name: load-skew
duration: {duration}
coordinator: {{balancer: {balancer}}}
network: {{latency: 0s}}
kv: {{read_latency: 0s, write_latency: 0s, strong: {{read_latency: 0s, write_latency: 0s}}}}
fleet:
  box:
    count: 2
    start_within: 0s
    {speeds}
    services:
      upload: {{port: 8103, capacity: 4, service_time: {service_time}}}
workload:
  - {{service: upload, rate: 2/s{extra}}}
faults: {faults}
"""


def run(faults: str = "[]", duration: str = "10m", balancer: str = "random", extra: str = "", speeds: str = "",
        service_time: str = "10ms", seed: int = 1) -> rmasim.RunResult:  # fmt: skip
    text = BOXES.format(faults=faults, duration=duration, balancer=balancer, extra=extra, speeds=speeds,
                        service_time=service_time)  # fmt: skip
    return rmasim.run(load_scenario_text(text), seed=seed)


def arrivals(result: rmasim.RunResult, t0: float, t1: float) -> int:
    t = result.requests.t_arrival
    return int(((t >= t0) & (t < t1)).sum())


def within_poisson(count: int, expected: float) -> bool:
    return abs(count - expected) < 4 * math.sqrt(expected)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_hot_service_multiplies_the_rate_for_its_duration(seed):
    result = run("[{at: 2m, action: hot_service, service: upload, factor: 3, duration: 2m}]", seed=seed)
    assert within_poisson(arrivals(result, 120, 240), 6 * 120)
    assert within_poisson(arrivals(result, 0, 120), 2 * 120)
    assert within_poisson(arrivals(result, 240, 600), 2 * 360)
    assert [(f.t, f.action) for f in result.faults] == [(120.0, "hot_service"), (240.0, "hot_service_end")]


def test_a_traffic_burst_adds_its_requests_within_its_window():
    result = run("[{at: 3m, action: traffic_burst, service: upload, requests: 100, within: 1s}]")
    assert 100 <= arrivals(result, 180, 181) <= 100 + 10  # plus ~2 Poisson arrivals
    assert within_poisson(arrivals(result, 0, 180), 2 * 180)


def test_a_diurnal_curve_is_followed_by_thinning():
    """rate(t) = 2 (1 + 0.5 cos(2 pi (t - 30m) / 1h)): over the quarter around the peak the expected count is
    2 (900 + 0.5 x 3600 / (2 pi) x 2 sin(pi / 4)) = 2 x 1305.1; around the trough 2 x 494.9."""
    result = run(duration="1h", extra=", diurnal: {amplitude: 0.5, period: 1h, peak_at: 30m}")
    swing = 0.5 * 3600 / (2 * math.pi) * 2 * math.sin(math.pi / 4)
    assert within_poisson(arrivals(result, 1350, 2250), 2 * (900 + swing))
    trough = arrivals(result, 0, 450) + arrivals(result, 3150, 3600)
    assert within_poisson(trough, 2 * (900 - swing))


def test_a_cpu_hog_pushes_inverse_load_traffic_away_from_a_less_busy_machine():
    """Both boxes carry a 0.1 hog from the start, so neither reports an idle 0 (which Fix #4's ``|| 0.5`` would
    read as 0.5) and traffic is even; from 2m box/0's hog is 0.5. Each box adds its own busy share, 2/s x its
    share x 10 ms / 4 slots (about 0.001 and 0.004): weights 1/(0.501 + 0.1) and 1/(0.104 + 0.1), so box/0 gets
    about 0.253 of the requests once its heartbeat reported the hog (30 s + the 1 s sample after 2m)."""
    faults = (
        "[{at: 0s, action: cpu_hog, target: box/0, load: 0.1, duration: 2m},"
        " {at: 2m, action: cpu_hog, target: box/0, load: 0.5, duration: 20m},"
        " {at: 0s, action: cpu_hog, target: box/1, load: 0.1, duration: 20m}]"
    )
    result = run(faults, balancer="inverse-load")
    r = result.requests
    late = r[r.t_arrival > 200]
    share = float((late.target == "box/0").mean())
    expected = 0.253
    for _ in range(20):  # the own busy shares depend on the split: iterate to the fixed point
        own0, own1 = 2 * expected * 0.01 / 4, 2 * (1 - expected) * 0.01 / 4
        w0, w1 = 1 / (0.5 + own0 + 0.1), 1 / (0.1 + own1 + 0.1)
        expected = w0 / (w0 + w1)
    n = len(late)
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / n)
    early = r[(r.t_arrival > 40) & (r.t_arrival < 120)]
    assert abs(float((early.target == "box/0").mean()) - 0.5) < 0.15  # the same hog on both: even


def test_speeds_set_each_machines_service_rate():
    """Service time 1 s at speed 1 and 2, zero latencies, four slots at 2/s: requests served by box/1 take 0.5 s
    unless they queued (rare at this load), by box/0 1 s."""
    result = run(speeds="speeds: [1, 2]", service_time="1s")
    r = result.requests
    assert r[r.target == "box/1"].latency.median() == pytest.approx(0.5)
    assert r[r.target == "box/0"].latency.median() == pytest.approx(1.0)


def test_speeds_must_name_every_machine():
    with pytest.raises(rmasim.ScenarioError, match=r"speeds: 1 speeds for 2 machines"):
        run(speeds="speeds: [1]")
