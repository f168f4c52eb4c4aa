"""A swarm fault-search campaign: many runs of one scenario, each with a fault schedule drawn from its seed.

Model (issue 14, Build 2; FoundationDB and TigerBeetle's simulators, swarm testing after Groce et al., ISSTA
2012): run ``i`` of a campaign with seed ``S`` draws, from the random stream ``explore/run/<i>`` of root seed
``S`` (:class:`rmasim.world.Streams`), which fault kinds are on, its faults
(:func:`rmasim.scenario.space.draw_schedule` over the scenario's ``explore`` space, or the built-in one) and
the simulation's own seed. Run ``i`` is therefore a pure function of ``(S, i)`` and the scenario: any executor,
any number of jobs, an interrupted and resumed campaign all give the same rows.

Each run is the scenario with its ``faults`` replaced by the drawn ones, its ``expect`` lines dropped (they were
written for the file's own faults), its ``seed`` set, and, when it names
no properties, :func:`rmasim.observe.properties.default_properties` written into it: a plain scenario that
``rmasim run`` replays. Every run also judges each sometimes property the scenario does not name
(:func:`rmasim.observe.sometimes.sometimes_properties`): its row says which were reached and when, and the
campaign's coverage table (:func:`coverage_table`) counts the runs that reached each. The failing and shrunk YAML
files leave them out (they never fail a run). The runs go through the sweep executor (:func:`rmasim.sweep.execute`:
a process pool, or any ``concurrent.futures.Executor`` such as a dask cluster's) into a
:class:`rmasim.sweep.RunStore` under ``DIR/sweep``, so ``resume`` runs only what is missing, coverage included.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..engine import run
from ..outputs import open_report, replace_report, write_atomic
from ..scenario import Scenario
from ..scenario.limits import MAX_SEED
from ..scenario.space import FaultSpace, draw_schedule
from ..sweep import RunSpec, RunStore, execute
from ..sweep.plan import _resolved_text, _run_id
from ..world.rng import Streams
from .dedup import Failure, distinct_failures, signature
from .selfcheck import Replay, self_check
from .shrink import MAX_SHRINK_RUNS, Outcome, Shrunk, machines_of, shrink, shrunk_yaml

__all__ = [
    "Campaign",
    "CampaignProgress",
    "ExploreResult",
    "ShrunkFailure",
    "coverage_table",
    "explore",
    "explore_row",
    "schedule_text",
    "shrink_failures",
]

#: At most this many runs in one campaign.
MAX_RUNS = 1_000_000

_LEADING = ["run", "run_id", "seed", "kinds_on", "n_faults", "faults", "failed", "violations"]


def schedule_text(faults: Sequence[Mapping[str, Any]]) -> str:
    """``crash gpu/0 at=56s; partition gpu/2 at=90s duration=28s oneway=True``: a schedule on one line."""
    parts = []
    for f in faults:
        where = f.get("target", f"edge/{f['edge']}" if "edge" in f else "")
        rest = " ".join(f"{k}={v}" for k, v in f.items() if k not in {"action", "target", "edge"})
        parts.append(" ".join(x for x in (str(f["action"]), str(where), rest) if x))
    return "; ".join(parts)


@dataclass(frozen=True)
class Campaign:
    """What a campaign explores: the ``scenario`` (overrides applied), its fault ``space`` and the campaign
    ``seed``. :meth:`plan` gives run ``i``."""

    scenario: Scenario
    seed: int = 0
    space: FaultSpace = field(default=None)  # type: ignore[assignment]  # filled from the scenario

    def __post_init__(self) -> None:
        if self.space is None:
            object.__setattr__(self, "space", self.scenario.explore or FaultSpace())

    def plan(self, index: int) -> RunSpec:
        """Run ``index``: its scenario (drawn faults, its seed, the properties it judges) as a ``RunSpec``
        whose ``grid_point`` holds the kinds switched on."""
        from ..observe.properties import default_properties
        from ..observe.sometimes import sometimes_properties

        rng = Streams(self.seed).generator(f"explore/run/{index}")
        on, faults = draw_schedule(self.space, self.scenario, rng)
        seed = int(rng.integers(0, min(MAX_SEED, 2**31 - 1)))
        overrides: dict[str, Any] = {"faults": faults, "seed": seed, "explore": None, "expect": []}
        judged = list(self.scenario.properties) or default_properties()
        named = {p.name for p in judged}
        judged += [p for p in sometimes_properties() if p.name not in named]
        overrides["properties"] = [p.model_dump() for p in judged]
        scenario = self.scenario.with_overrides(overrides)
        run_id = f"{index:07d}-{_run_id(_resolved_text(scenario), seed)}"
        return RunSpec(index, run_id, scenario, {"kinds_on": ",".join(on), "faults": json.dumps(faults)}, seed)


def explore_row(spec: RunSpec) -> dict[str, Any]:
    """Run one planned run; its row: index, id, seed, the kinds on, the schedule, then per property its
    ``violated_at``, ``entities`` and ``detail``, the violated names, each violation's signature (JSON); per
    sometimes property ``sometimes.<name>.reached_at`` (None: not reached) and ``sometimes.<name>.entities``, and
    ``sometimes``, the names reached."""
    result = run(spec.scenario, seed=spec.seed)
    faults = json.loads(spec.grid_point["faults"])
    violated = [p for p in result.properties if not p.holds]
    sometimes = [p for p in result.properties if p.kind == "sometimes"]
    row: dict[str, Any] = {
        "run": spec.index,
        "run_id": spec.run_id,
        "seed": spec.seed,
        "kinds_on": spec.grid_point["kinds_on"],
        "n_faults": len(faults),
        "faults": schedule_text(faults),
        "failed": bool(violated),
        "violations": ",".join(p.name for p in violated),
        "signatures": json.dumps(
            [[p.name, signature(p.name, faults, float(p.violated_at), p.entities)] for p in violated]  # type: ignore[arg-type]
        ),
        "faults_json": spec.grid_point["faults"],
        "wall_seconds": result.wall_seconds,
        "sometimes": ",".join(p.name for p in sometimes if p.reached_at is not None),
    }
    for p in sometimes:
        row[f"sometimes.{p.name}.reached_at"] = p.reached_at
        row[f"sometimes.{p.name}.entities"] = ",".join(p.entities)
    for p in result.properties:
        if p.kind == "sometimes":
            continue
        row[f"{p.name}.violated_at"] = p.violated_at
        row[f"{p.name}.entities"] = ",".join(p.entities)
        row[f"{p.name}.detail"] = p.detail
    return row


@dataclass(frozen=True)
class CampaignProgress:
    """Where a campaign stands: runs ``done`` of ``total`` (None: until the time is up), failing runs, distinct
    failures, wall seconds so far, the run just stored (None for the first call), and how many of the
    ``sometimes`` properties judged were ``reached`` by some run so far."""

    done: int
    total: int | None
    failing: int
    distinct: int
    elapsed: float
    row: Mapping[str, Any] | None = None
    reached: int = 0
    sometimes: int = 0


@dataclass
class ExploreResult:
    """A finished campaign: one row per run (index order), its distinct failures, wall time and what was run
    in this call (``ran``: runs not found in the store)."""

    campaign: Campaign
    frame: pd.DataFrame
    failures: list[Failure]
    wall_seconds: float
    ran: int
    shrunk: list[ShrunkFailure] = field(default_factory=list)
    shrink_seconds: float = 0.0
    checks: list[Replay] = field(default_factory=list)

    @property
    def distinct_shrunk(self) -> list[ShrunkFailure]:
        """The shrunk failures with a signature of their own (the first of each), in the failures' order."""
        return [s for s in self.shrunk if s.first]

    @property
    def failing(self) -> pd.DataFrame:
        return self.frame[self.frame["failed"]] if len(self.frame) else self.frame

    @property
    def coverage(self) -> pd.DataFrame:
        """The sometimes-coverage table of the runs (:func:`coverage_table`)."""
        return coverage_table(self.frame)


_COVERAGE = ["property", "runs_reached", "runs", "fraction", "first_run", "first_seed", "first_reached_at"]


def _sometimes_names(columns: Sequence[str]) -> list[str]:
    """The sometimes properties judged: the registered ones, then any other with a column in the rows."""
    from ..observe.sometimes import sometimes_names

    names = sometimes_names()
    for column in columns:
        if column.startswith("sometimes.") and column.endswith(".reached_at"):
            name = column[len("sometimes.") : -len(".reached_at")]
            if name not in names:
                names.append(name)
    return names


def coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per sometimes property: the runs that reached it (``runs_reached`` of ``runs``, ``fraction``), and
    the first of them (lowest run index): its run, simulation seed and the time it reached the state (empty when
    no run did). Built from the runs' rows alone (``sometimes.<name>.reached_at``), so a resumed campaign counts
    the stored runs as it counts the new ones."""
    rows = []
    n = len(frame)
    for name in _sometimes_names(list(frame.columns)):
        column = f"sometimes.{name}.reached_at"
        reached = frame[frame[column].notna()].sort_values("run") if column in frame and n else frame.iloc[0:0]
        first = reached.iloc[0] if len(reached) else None
        rows.append(
            {
                "property": name,
                "runs_reached": len(reached),
                "runs": n,
                "fraction": len(reached) / n if n else 0.0,
                "first_run": None if first is None else int(first["run"]),
                "first_seed": None if first is None else int(first["seed"]),
                "first_reached_at": None if first is None else float(first[column]),
            }
        )
    return pd.DataFrame(rows, columns=_COVERAGE).astype({"first_run": "Int64", "first_seed": "Int64"})


def _batches(runs: int | None, time_limit: float | None, size: int) -> Iterator[range]:
    """All the runs at once; with a time limit, batches of ``size`` (the last one cut at ``runs``)."""
    end = runs if runs is not None else MAX_RUNS
    step = end if time_limit is None else size
    for start in range(0, end, step):
        yield range(start, min(end, start + step))


def explore(
    campaign: Campaign,
    out: str | os.PathLike[str],
    *,
    runs: int | None = None,
    time_limit: float | None = None,
    jobs: int | None = None,
    executor: Executor | None = None,
    resume: bool = False,
    progress: Callable[[CampaignProgress], None] | None = None,
    shrink: bool = False,
    shrink_budget: int = MAX_SHRINK_RUNS,
    check: bool = True,
) -> ExploreResult:
    """Run the campaign's runs ``0..runs-1`` (or, with ``time_limit`` seconds, batches of runs until the time is
    up, and at most ``runs``); rows stored under ``out/sweep`` as each finishes; then the results and the failing
    runs' scenarios written into ``out`` (:func:`write_campaign`). ``resume``: skip the runs already stored.
    ``shrink``: shrink one run per distinct failure (:func:`shrink_failures`, at most ``shrink_budget`` candidate
    runs each) into ``out/shrunk/``, and, with ``check``, replay each file in a fresh process (the self-check)."""
    if runs is None and time_limit is None:
        raise ValueError("give runs or time_limit")
    wall = time.perf_counter()
    out_dir = open_report(out, "explore")
    store = RunStore(open_report(out_dir / "sweep", "sweep"))
    stored = store.finished() if resume else set()
    ids: list[str] = []
    rows: list[Mapping[str, Any]] = []
    tally = _Tally()
    ran = 0
    announced = False
    size = 4 * (jobs or os.cpu_count() or 1)
    for batch in _batches(runs, time_limit, size):
        specs = [campaign.plan(i) for i in batch]
        ids += [s.run_id for s in specs]
        todo = [s for s in specs if s.run_id not in stored]
        if not resume:
            store.remove(s.run_id for s in specs)
        kept = store.read([s.run_id for s in specs if s.run_id in stored])
        for row in kept.to_dict("records"):
            tally.add(row)
        done = len(ids) - len(todo)
        if progress and todo and not announced:  # once, when the first run is to be run: what was found stored
            announced = True
            progress(CampaignProgress(done, runs if time_limit is None else None, tally.failing, len(tally.sigs),
                                      time.perf_counter() - wall, None, *tally.coverage()))  # fmt: skip

        def on_row(d: int, _t: int, _spec: RunSpec, row: dict[str, Any]) -> None:
            tally.add(row)
            if progress:
                progress(CampaignProgress(d, runs if time_limit is None else None, tally.failing, len(tally.sigs),
                                          time.perf_counter() - wall, row, *tally.coverage()))  # fmt: skip

        execute(todo, store, explore_row, executor=executor, jobs=jobs, done=done, on_row=on_row)
        ran += len(todo)
        if time_limit is not None and time.perf_counter() - wall >= time_limit:
            break
    if progress and not announced:  # everything was stored already
        progress(CampaignProgress(len(ids), runs if time_limit is None else None, tally.failing, len(tally.sigs),
                                  time.perf_counter() - wall, None, *tally.coverage()))  # fmt: skip
    frame = store.read(ids, _LEADING)
    rows = frame.to_dict("records")
    result = ExploreResult(campaign, frame, distinct_failures(rows), time.perf_counter() - wall, ran)
    if shrink:
        started = time.perf_counter()
        result.shrunk = shrink_failures(campaign, result.failures, max_runs=shrink_budget)
        result.shrink_seconds = time.perf_counter() - started
    write_campaign(result, out_dir)
    if shrink and check:
        cases = [
            (out_dir / s.file, s.shrunk.after.property, s.shrunk.after.violated_at) for s in result.distinct_shrunk
        ]
        result.checks = self_check(cases, jobs=jobs)
        write_summary(result, out_dir)
    return result


class _Tally:
    def __init__(self) -> None:
        self.failing = 0
        self.sigs: set[str] = set()
        self.judged: set[str] = set()
        self.reached: set[str] = set()

    def add(self, row: Mapping[str, Any]) -> None:
        self.failing += bool(row.get("failed"))
        self.sigs.update(sig for _, sig in json.loads(row.get("signatures") or "[]"))
        for key, value in row.items():
            if key.startswith("sometimes.") and key.endswith(".reached_at"):
                self.judged.add(key)
                if value is not None and value == value:  # None or NaN (a stored row): not reached
                    self.reached.add(key)

    def coverage(self) -> tuple[int, int]:
        """(sometimes properties reached by some run so far, sometimes properties judged)."""
        return len(self.reached), len(self.judged)


@dataclass
class ShrunkFailure:
    """A distinct failure of the campaign, its first run shrunk: the ``shrunk`` scenario, its signature (the
    dedup over the shrunk schedule), its file under ``shrunk/``, and whether it is the ``first`` failure with
    that signature (the later ones merge into it)."""

    failure: Failure
    shrunk: Shrunk
    signature: str
    file: str
    first: bool


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "-", text).strip("-")[:100] or "failure"


def shrink_failures(
    campaign: Campaign, failures: Sequence[Failure], *, max_runs: int = MAX_SHRINK_RUNS
) -> list[ShrunkFailure]:
    """Shrink each failure's first run while its property is still violated (fault times no earlier than the
    campaign's window start), sharing the candidates' outcomes between failures; one :class:`ShrunkFailure`
    each, in the failures' order. Failures whose shrunk signatures are equal share one file."""
    cache: dict[str, Outcome] = {}
    floor = campaign.space.context(campaign.scenario).start
    out: list[ShrunkFailure] = []
    files: dict[str, str] = {}
    for failure in failures:
        spec = campaign.plan(failure.first_run)
        shrunk = shrink(
            _without_sometimes(spec.scenario), failure.property, floor=floor, max_runs=max_runs, cache=cache
        )
        sig = shrunk.signature
        first = sig not in files
        if first:
            files[sig] = f"shrunk/{_slug(sig)}.yaml"
        out.append(ShrunkFailure(failure, shrunk, sig, files[sig], first))
    return out


def shrunk_table(result: ExploreResult) -> pd.DataFrame:
    """One row per distinct failure: its signature before and after shrinking, faults, machines and duration
    before and after, the shrunk violation, the file, the candidate runs, and the self-check's verdict."""
    checks = {c.path: c for c in result.checks}
    rows = []
    for s in result.shrunk:
        sh = s.shrunk
        check = next((c for path, c in checks.items() if path.endswith(s.file)), None)
        rows.append(
            {
                "property": s.failure.property,
                "signature": s.failure.signature,
                "count": s.failure.count,
                "first_run": s.failure.first_run,
                "shrunk_signature": s.signature,
                "faults_before": len(sh.original.get("faults") or []),
                "faults": len(sh.raw.get("faults") or []),
                "machines_before": machines_of(sh.original),
                "machines": machines_of(sh.raw),
                "duration_before": str(sh.original["duration"]),
                "duration": str(sh.raw["duration"]),
                "violated_at_before": sh.before.violated_at,
                "violated_at": sh.after.violated_at,
                "entities": ",".join(sh.after.entities),
                "schedule": schedule_text(sh.raw.get("faults") or []),
                "scenario": s.file,
                "candidate_runs": sh.runs,
                "exhausted": sh.exhausted,
                "self_check": "" if check is None else ("ok" if check.ok else check.message),
            }
        )
    return pd.DataFrame(rows)


def failure_table(failures: Sequence[Failure], files: Mapping[int, str]) -> pd.DataFrame:
    """One row per distinct failure: property, signature, count, first run, its violation and its YAML file."""
    return pd.DataFrame(
        [
            {
                "property": f.property,
                "signature": f.signature,
                "count": f.count,
                "first_run": f.first_run,
                "violated_at": f.violated_at,
                "entities": f.entities,
                "scenario": files.get(f.first_run, ""),
                "runs": " ".join(map(str, f.runs)),
            }
            for f in failures
        ],
        columns=["property", "signature", "count", "first_run", "violated_at", "entities", "scenario", "runs"],
    )


def replay_yaml(campaign: Campaign, row: Mapping[str, Any]) -> str:
    """The failing run's scenario as a plain YAML file, headed by comments: the campaign, the violations."""
    import io

    from ruamel.yaml import YAML

    spec = campaign.plan(int(row["run"]))
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep the model order
    data = spec.scenario.model_dump(mode="json")
    data["faults"] = json.loads(spec.grid_point["faults"])  # as drawn: times as a person writes them
    data["properties"] = [p for p in data.get("properties") or [] if not _is_sometimes(p["name"])]
    text = io.StringIO()
    yaml.dump(data, text)
    head = [
        f"# rmasim explore: run {row['run']} of campaign seed {campaign.seed} ({campaign.scenario.name}), "
        f"simulation seed {spec.seed}",
    ]
    for name in str(row["violations"]).split(","):
        head.append(
            f"# violates {name} at {_fmt(row[f'{name}.violated_at'])} s: {row[f'{name}.entities']} "
            f"({row[f'{name}.detail']})"
        )
    head.append("# replay: rmasim run THIS_FILE --out DIR  (exits 1 with the same violations)")
    return "\n".join(head) + "\n" + text.getvalue()


def _is_sometimes(name: str) -> bool:
    from ..observe.properties import PROPERTIES

    return name in PROPERTIES and PROPERTIES[name].kind == "sometimes"


def _without_sometimes(scenario: Scenario) -> Scenario:
    """The scenario judging only its failing kinds of property (what a person replays)."""
    kept = [p.model_dump() for p in scenario.properties if not _is_sometimes(p.name)]
    return scenario.with_overrides({"properties": kept}) if len(kept) < len(scenario.properties) else scenario


def _fmt(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def write_campaign(result: ExploreResult, out_dir: Path) -> None:
    """``results.parquet`` and ``results.csv`` (one row per run), ``failures.csv`` (one row per distinct
    failure), ``coverage.csv`` (one row per sometimes property, :func:`coverage_table`),
    ``failing/run-NNNNNN.yaml`` (each failing run, replayable; the directory replaced whole), when
    shrunk ``shrunk/<signature>.yaml`` (one per shrunk signature; replaced whole), then :func:`write_summary`;
    each written atomically."""
    frame = result.frame
    write_atomic(out_dir / "results.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
    write_atomic(out_dir / "results.csv", lambda tmp: frame.to_csv(tmp, index=False))
    files: dict[int, str] = {}
    with replace_report(out_dir / "failing", "explore-failing") as tmp:
        for row in result.failing.to_dict("records"):
            name = f"run-{int(row['run']):06d}.yaml"
            (tmp / name).write_text(replay_yaml(result.campaign, row), encoding="utf-8")
            files[int(row["run"])] = f"failing/{name}"
    table = failure_table(result.failures, files)
    write_atomic(out_dir / "failures.csv", lambda tmp: table.to_csv(tmp, index=False))
    coverage = result.coverage
    write_atomic(out_dir / "coverage.csv", lambda tmp: coverage.to_csv(tmp, index=False))
    if result.shrunk:
        with replace_report(out_dir / "shrunk", "explore-shrunk") as tmp:
            for s in result.distinct_shrunk:
                origin = (f"run {s.failure.first_run} of campaign seed {result.campaign.seed} "
                          f"({result.campaign.scenario.name}), {s.failure.signature}")  # fmt: skip
                (tmp / Path(s.file).name).write_text(shrunk_yaml(s.shrunk, origin), encoding="utf-8")
    write_summary(result, out_dir)


def write_summary(result: ExploreResult, out_dir: Path) -> None:
    """``shrunk.csv`` (when shrunk: :func:`shrunk_table`, with the self-check's verdicts) and ``campaign.json``
    (counts, ``coverage``: per sometimes property its runs reached, fraction, first run, seed and time; shrink
    time, the self-check's passes and mismatches)."""
    frame = result.frame
    if result.shrunk:
        shrunk = shrunk_table(result)
        write_atomic(out_dir / "shrunk.csv", lambda tmp: shrunk.to_csv(tmp, index=False))
    summary: dict[str, Any] = {
        "scenario": result.campaign.scenario.name,
        "seed": result.campaign.seed,
        "space": result.campaign.space.model_dump(mode="json"),
        "runs": len(frame),
        "failing": int(frame["failed"].sum()) if len(frame) else 0,
        "distinct": len(result.failures),
        "ran": result.ran,
        "wall_seconds": result.wall_seconds,
    }
    summary["coverage"] = {
        row["property"]: {
            "runs_reached": int(row["runs_reached"]),
            "fraction": float(row["fraction"]),
            "first_run": None if pd.isna(row["first_run"]) else int(row["first_run"]),
            "first_seed": None if pd.isna(row["first_seed"]) else int(row["first_seed"]),
            "first_reached_at": None if pd.isna(row["first_reached_at"]) else float(row["first_reached_at"]),
        }
        for row in result.coverage.to_dict("records")
    }
    if result.shrunk:
        summary["distinct_shrunk"] = len(result.distinct_shrunk)
        summary["shrink_seconds"] = result.shrink_seconds
    if result.checks:
        summary["self_check"] = {
            "passed": sum(c.ok for c in result.checks),
            "failed": [c.message for c in result.checks if not c.ok],
        }
    write_atomic(out_dir / "campaign.json", lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2) + "\n"))
