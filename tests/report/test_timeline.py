"""The run's timeline: fault periods paired with their heals, labels that never overlap, no backend switched."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import pytest

import rmasim.plot
from rmasim import engine
from rmasim.report.timeline import FaultPeriod, fault_periods, label_lanes
from rmasim.scenario import load_scenario

ROOT = Path(__file__).parent.parent.parent


def record(t: float, action: str, target: str, effective: bool = True) -> SimpleNamespace:
    return SimpleNamespace(t=t, action=action, target=target, effective=effective)


def test_each_fault_lasts_from_its_start_to_its_heal():
    faults = [
        record(10, "crash", "gpu/0"),
        record(20, "partition", "gpu/1"),
        record(25, "clock_jump", "edge/0"),
        record(30, "edge_lag", "edge/0"),
        record(40, "start", "gpu/0"),
        record(50, "heal", "gpu/1"),
        record(60, "edge_lag_end", "edge/0"),
        record(70, "crash", "gpu/2"),  # never restarted: to the end of the run
        record(80, "cpu_hog", "gpu/3"),  # its end falls after the run: from its spec's duration
    ]
    specs = [SimpleNamespace(action="cpu_hog", at=80.0, duration=500.0)]
    periods = fault_periods(faults, 100.0, specs)
    assert [(p.label, p.start, p.end) for p in periods] == [
        ("crash gpu/0", 10, 40),
        ("partition gpu/1", 20, 50),
        ("clock_jump edge/0", 25, 25),
        ("edge_lag edge/0", 30, 60),
        ("crash gpu/2", 70, 100),
        ("cpu_hog gpu/3", 80, 100),
    ]


def test_no_two_periods_of_a_lane_overlap_with_their_labels():
    periods = [FaultPeriod("crash", f"gpu/{i}", 10.0 * i, 10.0 * i + 35.0) for i in range(12)]
    width = 1.0
    lanes = label_lanes(periods, 200.0, width)
    for a, b in itertools.combinations(range(len(periods)), 2):
        if lanes[a] == lanes[b]:
            first, second = sorted((periods[a], periods[b]), key=lambda p: p.start)
            assert second.start >= max(first.end, first.start + (len(first.label) + 2) * width)
    assert len(set(lanes)) == 4  # 12 bars of 35 s (labels 13 s) every 10 s: four overlap at any time


@pytest.fixture(scope="module")
def storm():
    return engine.run(load_scenario(ROOT / "scenarios" / "restart_storm.yaml"))


def test_the_figure_is_built_without_switching_the_users_backend(storm):
    before = matplotlib.get_backend()
    fig = rmasim.plot.timeline(storm)
    assert matplotlib.get_backend() == before
    names = [ax.get_ylabel().split("\n")[0] for ax in fig.axes if ax.get_ylabel()]
    assert names[:6] == ["faults", "registry", "workers", "routing", "latency (s)", "store ops"]


def test_fault_labels_drawn_never_overlap(storm):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = rmasim.plot.timeline(storm)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    faults = fig.axes[0]
    boxes = [t.get_window_extent(renderer) for t in faults.texts]
    assert len(boxes) == len([f for f in storm.faults if f.action != "start"])
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
