"""Envoy's outlier ejection, driven by hand: consecutive failures, ejection times, the 10% (at least one) cap."""

from __future__ import annotations

from rmasim.system.coordinator.outlier import OutlierDetector

UPLOAD = [{"id": f"w{i}"} for i in range(20)]


def fail(detector: OutlierDetector, worker: str, times: int, now: float, providers: int = 20) -> list[bool]:
    return [detector.report("upload", worker, False, now, providers) for _ in range(times)]


def test_the_fifth_consecutive_failure_ejects_for_30_s_then_60_s_capped_at_300_s():
    detector = OutlierDetector()
    assert fail(detector, "w0", 5, 0.0) == [False, False, False, False, True]
    assert [c["id"] for c in detector.admitted("upload", UPLOAD[:2], 29.9)] == ["w1"]
    assert [c["id"] for c in detector.admitted("upload", UPLOAD[:2], 30.0)] == ["w0", "w1"]
    assert fail(detector, "w0", 5, 30.0)[-1] is True  # second ejection: 60 s
    assert detector.admitted("upload", UPLOAD[:1], 89.9) == [] and detector.admitted("upload", UPLOAD[:1], 90.0)
    t = 90.0
    for _ in range(12):  # ejections 3..14: 90, 120, ... capped at 300 s
        fail(detector, "w0", 5, t)
        t += 300.0
    assert detector.admitted("upload", UPLOAD[:1], t - 300.0 + 299.9) == []


def test_a_success_resets_the_count():
    detector = OutlierDetector()
    fail(detector, "w0", 4, 0.0)
    detector.report("upload", "w0", True, 0.0, 20)
    assert fail(detector, "w0", 4, 0.0) == [False] * 4


def test_at_most_10_percent_of_providers_are_ejected_but_always_one():
    detector = OutlierDetector()
    ejected = [fail(detector, f"w{i}", 5, 0.0)[-1] for i in range(4)]
    assert ejected == [True, True, False, False]  # 10% of 20 = 2
    small = OutlierDetector()
    assert [fail(small, f"w{i}", 5, 0.0, providers=3)[-1] for i in range(2)] == [True, False]  # at least one
