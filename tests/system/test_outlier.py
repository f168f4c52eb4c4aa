"""Envoy's outlier ejection, driven by hand: consecutive failures, ejection times, the 10% (at least one) cap; and
``outlier_release: heartbeat``, where only a heartbeat since the ejection lets a provider back."""

from __future__ import annotations

from rmasim.system.coordinator.outlier import OutlierDetector

UPLOAD = [{"id": f"w{i}", "last_heartbeat": 0.0} for i in range(20)]


def fail(detector: OutlierDetector, worker: str, times: int, now: float, providers: int = 20) -> list[bool]:
    record = UPLOAD[int(worker[1:])]
    return [detector.report("upload", record, False, now, providers) for _ in range(times)]


def ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


def heartbeat(record: dict, at: float) -> dict:
    return {**record, "last_heartbeat": at}


def test_the_fifth_consecutive_failure_ejects_for_30_s_then_60_s_capped_at_300_s():
    detector = OutlierDetector()
    assert fail(detector, "w0", 5, 0.0) == [False, False, False, False, True]
    assert ids(detector.admitted("upload", UPLOAD[:2], 29.9)) == ["w1"]
    assert ids(detector.admitted("upload", UPLOAD[:2], 30.0)) == ["w0", "w1"]
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
    detector.report("upload", UPLOAD[0], True, 0.0, 20)
    assert fail(detector, "w0", 4, 0.0) == [False] * 4


def test_at_most_10_percent_of_providers_are_ejected_but_always_one():
    detector = OutlierDetector()
    ejected = [fail(detector, f"w{i}", 5, 0.0)[-1] for i in range(4)]
    assert ejected == [True, True, False, False]  # 10% of 20 = 2
    small = OutlierDetector()
    assert [fail(small, f"w{i}", 5, 0.0, providers=3)[-1] for i in range(2)] == [True, False]  # at least one


def test_panic_mode_routes_to_every_ejected_provider_when_releasing_by_time():
    detector = OutlierDetector()
    fail(detector, "w0", 5, 0.0, providers=1)
    assert detector.admitted("upload", UPLOAD[:1], 1.0) == []
    assert ids(detector.panic("upload", UPLOAD[:1])) == ["w0"]
    assert ids(detector.routable("upload", UPLOAD[:2], 1.0)) == ["w1"]  # one admitted: no panic
    assert ids(detector.routable("upload", UPLOAD[:1], 1.0)) == ["w0"]


def test_releasing_by_heartbeat_a_silent_provider_stays_out_past_its_time():
    """Ejected at 0 s for 30 s: still out at 100 s while its record shows the heartbeat it had at the ejection; back
    once a new one is seen, not before its 30 s (a heartbeat at 10 s, seen at 20 s, lets it back at 30 s)."""
    detector = OutlierDetector(by_heartbeat=True)
    assert fail(detector, "w0", 5, 0.0)[-1] is True
    assert detector.admitted("upload", UPLOAD[:1], 100.0) == []
    fresh = [heartbeat(UPLOAD[0], 10.0)]
    assert detector.admitted("upload", fresh, 20.0) == []
    assert ids(detector.admitted("upload", fresh, 30.0)) == ["w0"]


def test_releasing_by_heartbeat_the_cap_counts_and_panic_routes_only_providers_heard_since():
    """Three providers, the cap one: two silent ejected providers do not count, so the third is ejected too, and
    with all three out panic mode has nobody to route to (503) until one heartbeats."""
    detector = OutlierDetector(by_heartbeat=True)
    assert [fail(detector, f"w{i}", 5, 0.0, providers=3)[-1] for i in range(3)] == [True, True, True]
    assert detector.admitted("upload", UPLOAD[:3], 1.0) == []
    assert detector.panic("upload", UPLOAD[:3]) == []
    heard = [heartbeat(UPLOAD[0], 5.0), *UPLOAD[1:3]]
    assert ids(detector.panic("upload", heard)) == ["w0"]
    time_release = OutlierDetector()
    assert [fail(time_release, f"w{i}", 5, 0.0, providers=3)[-1] for i in range(3)] == [True, False, False]
