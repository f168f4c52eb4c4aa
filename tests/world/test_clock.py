"""Clock = true time x (1 + drift) + offset + jumps; timers last d / (1 + drift) true seconds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rmasim.world.clock import Clock


def test_ideal_clock_reads_true_time() -> None:
    """With no offset, drift or jump, local time is true time."""
    assert [Clock().local(t) for t in (0.0, 1.5, 86400.0)] == [0.0, 1.5, 86400.0]


def test_offset_and_drift() -> None:
    """local(t) = t x (1 + drift) + offset."""
    c = Clock(offset=-2.0, drift=0.5)
    assert [c.local(t) for t in (0.0, 10.0)] == [-2.0, 13.0]
    assert Clock(drift=1e-4).local(86400.0) == pytest.approx(86400.0 + 8.64)


def test_jump_applies_from_its_instant() -> None:
    """jump(delta, at): local time jumps by delta from that true instant, not before."""
    c = Clock(offset=5.0)
    c.jump(-10.0, at_true_t=100.0)
    assert [c.local(t) for t in (50.0, 99.999, 100.0, 200.0)] == [55.0, 104.999, 95.0, 195.0]
    c.jump(3.0, at_true_t=150.0)
    assert [c.local(t) for t in (120.0, 150.0)] == [115.0, 148.0]
    assert c.total_jump == -7.0


def test_jumps_may_be_recorded_out_of_order() -> None:
    """Jumps are kept ordered by their true instant, whatever order they are applied in."""
    a, b = Clock(), Clock()
    a.jump(1.0, 10.0)
    a.jump(2.0, 20.0)
    b.jump(2.0, 20.0)
    b.jump(1.0, 10.0)
    assert [a.local(t) for t in (5.0, 15.0, 25.0)] == [b.local(t) for t in (5.0, 15.0, 25.0)] == [5.0, 16.0, 28.0]


def test_timer_duration_follows_drift() -> None:
    """A local timer of d lasts d / (1 + drift) true seconds; jumps do not change timers."""
    c = Clock(drift=0.25)
    c.jump(100.0, 0.0)
    assert c.true_duration(30.0) == 24.0
    assert c.local_duration(24.0) == 30.0


def test_drift_must_keep_the_clock_running() -> None:
    with pytest.raises(ValueError, match="drift"):
        Clock(drift=-1.0)


def test_from_config() -> None:
    """from_config reads ClockConfig's offset and drift; None gives an ideal clock."""
    c = Clock.from_config(SimpleNamespace(offset=3.0, drift=0.1))
    assert (c.offset, c.drift) == (3.0, 0.1)
    assert Clock.from_config(None).local(7.0) == 7.0
