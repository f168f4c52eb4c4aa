"""The success-rate part of ``settles``: after the last heal + settle, the success rate is back to its pre-fault
level (:func:`rmasim.observe.properties.success_rate_dropped`).

The numbers come from the rule and from queueing, not from earlier runs: the test's statistic is computed here
by hand, and the runs lose capacity in a way whose effect on the success rate is bounded by arithmetic.
"""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

import rmasim
from rmasim.observe.properties import success_rate_dropped
from rmasim.scenario import load_scenario_text


def z_by_hand(k_pre: int, n_pre: int, k_post: int, n_post: int, tolerance: float) -> float:
    p, q = (k_pre + 1) / (n_pre + 2), (k_post + 1) / (n_post + 2)
    return (q - p + tolerance) / math.sqrt(p * (1 - p) / (n_pre + 2) + q * (1 - q) / (n_post + 2))


@pytest.mark.parametrize(
    ("k_post", "dropped"),
    [
        (1000, False),  # back to all served
        (990, False),  # 1 point below: within the 2-point tolerance
        (975, False),  # 2.5 points below: beyond the tolerance, but not significantly (z = -0.97)
        (950, True),  # 5 points below: z = -4.26, p = 1e-5
        (667, True),  # a third lost
    ],
)
def test_the_rule_is_a_one_sided_non_inferiority_test_at_alpha(k_post, dropped):
    z = z_by_hand(1000, 1000, k_post, 1000, 0.02)
    found, p_value = success_rate_dropped(1000, 1000, k_post, 1000, 0.02, 0.01)
    assert p_value == pytest.approx(norm.cdf(z))
    assert found is dropped
    assert bool(z < norm.ppf(0.01)) is dropped


def test_the_critical_count_sits_where_the_bound_crosses_the_tolerance():
    # Pre-fault 1000/1000; settled n = 1000. The largest k judged dropped is the largest with
    # z(k) < z_0.01 = -2.326; z grows with k, so exactly one k separates the verdicts.
    verdicts = [success_rate_dropped(1000, 1000, k, 1000)[0] for k in range(900, 1001)]
    flip = verdicts.index(False)
    assert all(verdicts[:flip]) and not any(verdicts[flip:])
    k = 900 + flip
    assert z_by_hand(1000, 1000, k - 1, 1000, 0.02) < norm.ppf(0.01) <= z_by_hand(1000, 1000, k, 1000, 0.02)
    assert 960 < k < 975  # 2 points of tolerance plus about 2.3 standard errors of a rate near 0.97


def test_more_requests_make_the_same_gap_significant():
    assert not success_rate_dropped(100, 100, 95, 100)[0]  # 5 points on 100 requests: chance
    assert success_rate_dropped(1000, 1000, 950, 1000)[0]  # the same 5 points on 1000: a drop
    assert not success_rate_dropped(1000, 1000, 950, 1000, tolerance=0.06)[0]  # within a wider tolerance
    with pytest.raises(ValueError):
        success_rate_dropped(0, 0, 1, 1)


CAPACITY = """\
name: capacity_loss
seed: 3
duration: 12m
warmup: 1m
sample_every: 5s
coordinator: {{preset: reference}}
fleet:
  m: {{count: {count}, start_within: 10s, services: {{rag: {{port: 8102, capacity: 2, service_time: 1s}}}}}}
workload:
  - {{service: rag, rate: 3/s, start: 1m}}
faults:
  - {{at: 3m, action: crash, target: m/0}}
properties:
  - {{name: settles}}
"""


def test_losing_capacity_for_good_fails_settles_and_spare_capacity_passes():
    # Each machine serves at most 2 requests/s (2 slots of 1 s). Clients ask 3/s. With 2 machines left of 3 the
    # fleet serves 4/s (load 0.75): everything is served again once the crashed one is purged. With 1 left of 2
    # at most 2/3 of the requests can be served: below the pre-fault 1.0 by far more than 0.02, whatever the
    # noise, while the registry is clean and one agent leads.
    kept = rmasim.run(load_scenario_text(CAPACITY.format(count=3)))
    (verdict,) = kept.properties
    assert verdict.holds and verdict.checked, verdict.detail
    lost = rmasim.run(load_scenario_text(CAPACITY.format(count=2)))
    (verdict,) = lost.properties
    assert not verdict.holds
    start = 180.0 + 240.0  # the crash (a crash heals at once) + the default settle from the reference's knobs
    assert verdict.violated_at == start
    assert verdict.detail.startswith("success rate ")
    served, asked = map(int, verdict.detail.split()[2].split("/"))
    assert served / asked <= 2 / 3 + 0.02
    assert "before the first fault minus 0.02" in verdict.detail
    tolerant = rmasim.run(
        load_scenario_text(
            CAPACITY.format(count=2).replace("{name: settles}", "{name: settles, success_tolerance: 0.5}")
        )
    )
    assert tolerant.properties[0].holds  # 1/3 lost is within a tolerance of one half


def test_a_run_without_faults_or_traffic_judges_no_success_rate():
    quiet = rmasim.run(load_scenario_text(CAPACITY.format(count=2).replace("rate: 3/s", "rate: 0/s")))
    assert quiet.properties[0].holds or "success rate" not in quiet.properties[0].detail
    calm = rmasim.run(
        load_scenario_text(CAPACITY.format(count=3).split("faults:")[0] + "properties: [{name: settles}]\n")
    )
    assert calm.properties[0].holds
