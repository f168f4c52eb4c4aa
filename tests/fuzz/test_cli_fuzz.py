"""Issue 11, point 6: malformed scenarios and command lines end in exit 2 with a located line, or a valid run.

Two tiers (every case runs in its own directory under pytest's tmp dir; see ``cases.py`` for the world and
``harness.py`` for the verdict):

- default, about 40 cases in well under a minute: the issue's reproducers by hand (in-process through typer's
  CliRunner, the memory hazards as real ``.venv/bin/rmasim`` subprocesses), plus a few drawn by hypothesis::

      .venv/bin/python -m pytest tests/fuzz -q

- ``fuzz``, 500 drawn cases, one subprocess each (deterministic: ``derandomize=True``), about 20-30 minutes;
  prints the tally table for the closing note and writes every failing case, one JSON line each, to
  ``$RMASIM_FUZZ_LOG`` (default: fuzz-failures.jsonl in pytest's tmp dir; the table goes next to it as .md)::

      .venv/bin/python -m pytest tests/fuzz -m fuzz -q
      RMASIM_FUZZ_CASES=50 .venv/bin/python -m pytest tests/fuzz -m fuzz -q   # a shorter run
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from .cases import BASES, TINY, Case, alias_bomb, cli_cases, mutated_scenario, shorten
from .harness import Outcome, Tally, changes, describe, run_case, unlocated

DIR = ("dir", "")
FAST = settings(derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _case_dir(tmp_path: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=tmp_path))


def _replace(old: str, new: str, text: str = TINY) -> bytes:
    assert old in text, old
    return text.replace(old, new, 1).encode()


def _line(data: bytes, needle: str) -> int:
    return next(i for i, line in enumerate(data.decode().splitlines(), 1) if needle in line)


# --- the verdict itself, on hand-made outputs -------------------------------------------------------------


def test_a_located_scenario_line_names_the_file_as_typed():
    assert unlocated(("validate", "a.yaml"), "", "a.yaml:3:7: duration: bad\n") == []
    assert unlocated(("validate", "a.yaml"), "", "b.yaml:3:7: duration: bad\n") == ["b.yaml:3:7: duration: bad"]
    assert unlocated(("validate", "a.yaml"), "", "a.yaml: duration: bad\n") == ["a.yaml: duration: bad"]


def test_an_option_problem_starts_with_the_option():
    argv = ("run", "a.yaml", "--set", "x=1", "--out", "o")
    assert unlocated(argv, "", "--set x=1: x: unknown field\n--out o: exists\n") == []
    assert unlocated(argv, "", "error: bad value\n") == ["error: bad value"]
    assert unlocated(argv, "", "") == ["(no message)"]


def test_a_usage_error_and_a_baseline_problem_are_located():
    usage = "Usage: rmasim run [OPTIONS] {scenario_file}\nTry 'rmasim run --help' for help.\n│ No such option │\n"
    assert unlocated(("run", "a.yaml", "--bogus"), "", usage) == []
    box = "╭─ Error ─╮\n│ Option '--out' requires an argument. │\n╰──╯\n"
    assert unlocated(("run", "--out"), "", box) == []
    assert unlocated(("validate", ""), "", ".:1:1: is a directory\n") == []  # typer's Path('') is '.'
    assert unlocated(("check", "--suite="), "", ".: --suite: no *.yaml scenario files in it\n") == []
    assert unlocated(("check", "--baseline", "b.json"), "", "b.json: entries.0.mean: NaN\n") == []
    assert unlocated(("check",), "", "reports/baseline.json:1:2: not valid JSON\n") == []
    assert unlocated(("check",), "", "scenarios/x.yaml:1:2: name: bad\n") == []


def test_a_world_file_changed_is_touched_and_a_left_temporary_sibling_is_stray():
    before = {"box": DIR, "box/work": DIR, "box/work/victim.txt": ("file", "a"), "box/work/keep": DIR}
    after = before | {"box/work/victim.txt": ("file", "b"), "box/work/.out.tmp": ("file", "c")}
    after |= {"box/work/out": DIR, "box/work/out/summary.json": ("file", "d"), "box/work/out/.marker": ("file", "")}
    after.pop("box/work/keep")
    assert changes(before, after, Case(("run",)), 0, False) == [
        "touched: box/work/victim.txt",
        "touched: box/work/keep",
        "stray: box/work/.out.tmp (a file left in a directory that existed before)",
    ]
    written = before | {"box/work/out": DIR}
    assert changes(before, written, Case(("run",)), 2, False) == ["stray: box/work/out (written on exit 2)"]
    assert changes(before, before | {"box/x": DIR}, Case(("run",)), 0, False) == [
        "stray: box/x (outside the working directory)"
    ]
    into_empty = before | {"box/work/keep/summary.json": ("file", "e")}  # keep/ was empty: it may become a report
    assert changes(before, into_empty, Case(("run",)), 0, False) == []
    rewritten = before | {"box/work/victim.txt": ("file", "b")}
    assert changes(before, rewritten, Case(("check",), writable=("victim.txt",)), 0, False) == []


def test_the_shortened_scenarios_are_valid_and_short():
    from rmasim.engine import check_scenario
    from rmasim.scenario import load_scenario_text

    for name, text in [*BASES.items(), ("tiny", TINY)]:
        scenario = load_scenario_text(text, source=name)
        check_scenario(scenario)
        assert scenario.duration <= 120, name
    assert shorten("name: x\nduration: 10m\nfaults: [{at: 5m, down_for: 1m}]\n").count("at: 60s, down_for: 12s")


# --- the reproducers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """A hand-written case and what it must print: stderr's first line matches ``first`` (a regex), or click's
    usage error names ``option``; ``exits``: the allowed exit statuses."""

    case: Case
    first: str | None = None
    option: str | None = None
    exits: tuple[int, ...] = (2,)


TINY_ARG = "scenarios/tiny.yaml"
CRASH = (("crash.yaml", BASES["crash"].encode()),)  # 2 minutes: a warmup of 1m is valid
NAMED = Case(("validate", "case.yaml"), (("case.yaml", _replace("name: tiny", 'name: "../../outside"')),))
DOT = Case(("run", "case.yaml", "-q"), (("case.yaml", _replace("name: tiny", 'name: "."')),))
CAPACITY = _replace("capacity: 4", "capacity: 9223372036854775808")
EDGES = _replace("edges: 1", "edges: 9223372036854775808")
LATE = _replace("at: 10s", "at: 10m")
FIVE = _replace("duration: 60s", "duration: ５m")
OMAP = _replace("fleet:\n", "fleet: !!omap\n  - gpu: {count: 1, services: {u: {}}}\nx:\n")
APPLY = _replace('description: "', 'description: !!python/object/apply:os.system ["touch pwned"]\nx: "')
RECURSIVE = _replace('description: "Review', 'description: &a [*a]\nx: "Review')


def _scenario(data: bytes, needle: str, field: str) -> Expect:
    line = _line(data, needle)
    return Expect(Case(("validate", "case.yaml"), (("case.yaml", data),)), rf"case\.yaml:{line}:\d+: {field}")


HAND: dict[str, Expect] = {
    "seed -1": Expect(Case(("run", TINY_ARG, "--seed", "-1")), r"--seed -1: ", "--seed"),
    "seed 2**70": Expect(Case(("run", TINY_ARG, "--seed", str(2**70))), rf"--seed {2**70}: ", "--seed"),
    "seed x": Expect(Case(("run", TINY_ARG, "--seed", "x")), r"--seed x: ", "--seed"),
    "run --out file": Expect(Case(("run", TINY_ARG, "--out", "victim.txt")), r"--out victim\.txt: "),
    "run --out /proc/x": Expect(Case(("run", TINY_ARG, "--out", "/proc/x")), r"--out /proc/x: "),
    "run --out file/sub": Expect(Case(("run", TINY_ARG, "--out", "victim.txt/sub")), r"--out victim\.txt/sub: "),
    "run --out=": Expect(Case(("run", TINY_ARG, "--out=")), r"--out\b"),
    "run --out dir": Expect(Case(("run", TINY_ARG, "--out", "keep")), r"--out keep: "),
    "run --out symlink": Expect(Case(("run", TINY_ARG, "--out", "link")), r"--out link: "),
    "run --out ..": Expect(Case(("run", TINY_ARG, "--out", "..")), r"--out \.\.: "),
    "check --out file": Expect(
        Case(("check", "--seeds", "1", "--jobs", "1", "--out", "victim.txt")), r"--out victim\.txt: "
    ),
    "sweep --out file": Expect(Case(("sweep", TINY_ARG, "--jobs", "1", "--out", "victim.txt")), r"--out victim\.txt: "),
    "compare --out file": Expect(
        Case(("compare", TINY_ARG, "--seeds", "2", "--jobs", "1", "--out", "victim.txt")), r"--out victim\.txt: "
    ),
    "set alias": Expect(Case(("run", TINY_ARG, "--set", "description=&a [*a]")), r"--set description=&a \[\*a\]: "),
    "grid equivalent": Expect(
        Case(("sweep", "crash.yaml", "--grid", "warmup=60s,1m"), CRASH), r"--grid warmup=60s,1m: "
    ),
    "grid repeated": Expect(
        Case(("sweep", TINY_ARG, "--grid", "coordinator.edges=1,2", "--grid", "coordinator.edges=3")),
        r"--grid coordinator\.edges=",
    ),
    "grid empty": Expect(Case(("sweep", TINY_ARG, "--grid", "warmup=")), r"--grid warmup=: "),
    "baseline non-UTF-8": Expect(
        Case(("check", "--seeds", "1", "--baseline", "b/nonutf8.json")), r"(--baseline )?b/nonutf8\.json\b"
    ),
    "baseline NaN": Expect(Case(("check", "--seeds", "1", "--baseline", "b/nan.json")), r"(--baseline )?b/nan\.json\b"),
    "baseline inf": Expect(Case(("check", "--seeds", "1", "--baseline", "b/inf.json")), r"(--baseline )?b/inf\.json\b"),
    "baseline missing": Expect(
        Case(("check", "--seeds", "1", "--baseline", "b/missing.json")), r"(--baseline )?b/missing\.json\b"
    ),
    "unknown option": Expect(Case(("run", TINY_ARG, "--bogus")), None, "--bogus"),
    "name ../../outside": Expect(NAMED, rf"case\.yaml:{_line(NAMED.files[0][1], 'name:')}:\d+: name: "),
    "name .": Expect(DOT, rf"case\.yaml:{_line(DOT.files[0][1], 'name:')}:\d+: name: "),
    "capacity 2**63": _scenario(CAPACITY, "922337", r"fleet\.gpu\.services\.upload\.capacity: "),
    "edges 2**63": _scenario(EDGES, "922337", r"coordinator\.edges: "),
    "fault after the end": _scenario(LATE, "at: 10m", r"faults\.0"),
    "unicode digit": _scenario(FIVE, "５m", r"duration: "),
    "!!omap": _scenario(OMAP, "!!omap", ""),
    "!!python/object/apply": _scenario(APPLY, "!!python", ""),
    "recursive alias": _scenario(RECURSIVE, "&a", ""),
    "valid run": Expect(Case(("run", TINY_ARG, "-q")), exits=(0, 1)),
    "valid sweep": Expect(Case(("sweep", TINY_ARG, "--grid", "coordinator.edges=1,2", "--jobs", "1")), exits=(0,)),
    "valid check": Expect(Case(("check", "--seeds", "1", "--jobs", "1")), exits=(0, 1)),
}

HUGE = TINY.replace('description: "', 'description: "' + "x" * 30_000_000, 1).encode()
BOMB = alias_bomb(7)
DEEPER = alias_bomb(8)
MACHINES = _replace("count: 3", "count: 1000000")
SAMPLES = _replace("duration: 60s", "duration: 24h").replace(b"sample_every: 5s", b"sample_every: 1ms")
REAL: dict[str, Expect] = {
    "alias bomb 252 bytes": Expect(
        Case(("validate", "bomb.yaml"), (("bomb.yaml", BOMB),), hazard=True), r"bomb\.yaml:\d+:\d+: "
    ),
    "alias bomb, one more level": Expect(
        Case(("validate", "bomb.yaml"), (("bomb.yaml", DEEPER),), hazard=True), r"bomb\.yaml:\d+:\d+: "
    ),
    "run /dev/zero": Expect(Case(("run", "/dev/zero"), hazard=True), r"/dev/zero:\d+:\d+: "),
    "30 MB file": Expect(Case(("validate", "huge.yaml"), (("huge.yaml", HUGE),), hazard=True), r"huge\.yaml:\d+:\d+: "),
    "1e6 machines": Expect(
        Case(("run", "m.yaml", "-q"), (("m.yaml", MACHINES),), hazard=True),
        rf"m\.yaml:{_line(MACHINES, 'count: 1000000')}:\d+: fleet\.gpu\.count: ",
    ),
    "1 ms samples over 24 h": Expect(
        Case(("run", "s.yaml", "-q"), (("s.yaml", SAMPLES),), hazard=True), r"s\.yaml:\d+:\d+: "
    ),
    "compare --seeds 2**70": Expect(
        Case(("compare", TINY_ARG, "--seeds", str(2**70)), hazard=True), r"--seeds\b", "--seeds"
    ),
    "check --seeds 1e9": Expect(
        Case(("check", "--seeds", str(10**9), "--jobs", "1"), hazard=True), r"--seeds\b", "--seeds"
    ),
    "seed -1 on a terminal": Expect(Case(("run", TINY_ARG, "--seed", "-1")), r"--seed -1: ", "--seed"),
}


def _assert_expected(outcome: Outcome, expect: Expect) -> None:
    assert outcome.ok, describe([outcome])
    assert outcome.exit in expect.exits, describe([outcome]) + f"\n  wanted exit {expect.exits}"
    if expect.first is None and expect.option is None:
        return
    first = next((line for line in outcome.stderr.splitlines() if line.strip()), "")
    usage = first.startswith("Usage: rmasim")
    if usage and expect.option is not None:
        assert expect.option in outcome.stderr, outcome.stderr
    else:
        assert expect.first is not None and re.match(expect.first, first), f"{first!r} !~ {expect.first!r}"


@pytest.mark.parametrize("name", list(HAND))
def test_reproducer_in_process(name: str, tmp_path: Path):
    """Each of the issue's bad inputs: exit 2, its one located line first, nothing outside touched."""
    expect = HAND[name]
    _assert_expected(run_case(expect.case, tmp_path, in_process=True), expect)


@pytest.mark.parametrize("name", list(REAL))
def test_reproducer_on_a_terminal(name: str, tmp_path: Path, mpl_dir: Path):
    """The memory and time hazards, as the installed console script (2 GB, 20 s): no traceback reaches the user."""
    expect = REAL[name]
    _assert_expected(run_case(expect.case, tmp_path, mpl=mpl_dir), expect)


# --- drawn by hypothesis ----------------------------------------------------------------------------------


@settings(FAST, max_examples=25)
@given(data=mutated_scenario())
def test_mutated_scenarios_validate_or_fail_located(data: bytes, tmp_path: Path):
    """Structural mutations of the shipped scenarios through ``validate``: ok, or exit 2 with located lines."""
    outcome = run_case(Case(("validate", "case.yaml"), (("case.yaml", data),)), _case_dir(tmp_path), in_process=True)
    assert outcome.ok, describe([outcome])


@settings(FAST, max_examples=3)
@given(case=cli_cases())
def test_drawn_command_lines(case: Case, tmp_path: Path, mpl_dir: Path):
    """A few command lines of the fuzz tier, as subprocesses."""
    outcome = run_case(case, _case_dir(tmp_path), mpl=mpl_dir)
    assert outcome.ok, describe([outcome])


# --- the fuzz tier ----------------------------------------------------------------------------------------


@pytest.mark.fuzz
def test_fuzz_tier(tmp_path_factory: pytest.TempPathFactory, mpl_dir: Path, record_tally) -> None:
    """500 drawn cases, one subprocess each: counts by exit status, and no traceback, timeout or unlocated line."""
    tally = Tally()
    cases = int(os.environ.get("RMASIM_FUZZ_CASES", "500"))
    log = Path(os.environ.get("RMASIM_FUZZ_LOG") or tmp_path_factory.getbasetemp() / "fuzz-failures.jsonl")

    seen: set[tuple[tuple[str, ...], tuple[tuple[str, bytes], ...]]] = set()

    @settings(FAST, max_examples=cases, phases=[Phase.generate])
    @given(case=cli_cases())
    def one(case: Case) -> None:
        assume((case.argv, case.files) not in seen)  # 500 distinct cases: a repeat does not count
        seen.add((case.argv, case.files))
        root = tmp_path_factory.mktemp("case")
        outcome = run_case(case, root, mpl=mpl_dir)
        tally.add(outcome)
        if outcome.ok:  # keep failing cases' directories to look at; drop the rest (some hold 30 MB files)
            shutil.rmtree(root, ignore_errors=True)

    try:
        one()
    finally:
        tally.write(log)
        record_tally(f"{tally.table()}\nfailing cases: {log}")
    assert not tally.failed(), describe(tally.failed()[:20])
