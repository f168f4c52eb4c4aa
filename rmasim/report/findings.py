"""The review, tested: each sentence of the review that can be measured, its verdict, the evidence and the command
that replays it (``rmasim findings``).

Model. A *claim* is one sentence of the review (or a flaw it never names), tied to one summary key of one shipped
scenario, measured under a few *variants* (a preset, or one of the review's fixes alone on top of the baseline:
an ablation) over N seeds. Its *test* is written next to it and computes the verdict from the measured values,
never by hand:

- :class:`Bound` ``(variant, key op value)``: *confirmed* when every seed satisfies it and so does the whole 95%
  interval of the mean; *refuted* when the whole interval lies on the other side (for ``== v``: every seed differs
  from v on the same side and the interval excludes v); *partly* otherwise (some seeds one way, some the other);
- a :class:`Bound` with ``some`` (the review says a thing *can* happen): *confirmed* when a seed shows it,
  *partly* when none does;
- :class:`Order` ``(a op b)``: the two variants' means compared with Welch's two-sided t-test at 5% (the 95%
  Welch interval of ``mean_a - mean_b``): *confirmed* when the interval lies on the claimed side, *refuted* when it
  lies on the other, *partly* when it contains 0 (no difference shown).

A claim with no runs is *not tested*. The fixes' effort estimates are reported beside what each fix buys (its
key against the baseline's, with the Welch interval of the difference), not judged.

Runs go through the sweep executor (``jobs`` processes, or any executor), stored per run under ``OUT/runs`` so an
interrupted report resumes (``resume=True``).
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..outputs import open_report, write_atomic
from ..scenario import Scenario, load_scenario, shipped_scenarios
from .compare import format_interval, plot_intervals
from .stats import better_direction, mean_ci, welch_half_width

__all__ = [
    "CLAIMS",
    "EFFORTS",
    "Bound",
    "Claim",
    "Effort",
    "Finding",
    "NotTested",
    "Order",
    "Variant",
    "findings",
    "judge",
    "runs_needed",
    "write_findings",
]

Op = Literal["==", ">", ">=", "<", "<="]
Verdict = Literal["confirmed", "refuted", "partly", "not tested"]


@dataclass(frozen=True, slots=True)
class Variant:
    """A coordinator variant: a ``label`` and the ``--set`` overrides that make it."""

    label: str
    overrides: tuple[tuple[str, Any], ...]

    def with_(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        return {**dict(self.overrides), **extra}


def _preset(name: str) -> Variant:
    return Variant(name, (("coordinator.preset", name),))


def _fix(number: int, *knobs: tuple[str, Any]) -> Variant:
    """The review's Fix #number alone, on top of the baseline."""
    return Variant(f"Fix #{number} alone", (("coordinator.preset", "baseline"), *knobs))


BASELINE = _preset("baseline")
SEED_FIXES = _preset("seed-fixes")
REFERENCE = _preset("reference")
FIXES = {
    1: _fix(1, ("coordinator.unregister_cleanup", True)),
    2: _fix(2, ("coordinator.stale_cleanup", "on_route")),
    3: _fix(3, ("coordinator.service_health", True)),
    4: _fix(4, ("coordinator.balancer", "inverse-load")),
    5: _fix(5, ("coordinator.identity", "fingerprint")),
}


@dataclass(frozen=True, slots=True)
class Bound:
    """The claim ``key op value`` under ``variant``; with ``some``, the claim that it *can* happen: confirmed by
    one seed that shows it, partly when none of the seeds does (not seen is not impossible)."""

    variant: Variant
    op: Op
    value: float
    some: bool = False

    def text(self, key: str) -> str:
        what = f"{key} {self.op} {self.value:g} under {self.variant.label}"
        return f"{what} in some seed" if self.some else what


@dataclass(frozen=True, slots=True)
class Order:
    """The claim ``mean under a  op  mean under b`` (``op``: ``<`` or ``>``)."""

    a: Variant
    op: Literal["<", ">"]
    b: Variant

    def text(self, key: str) -> str:
        return f"{key} under {self.a.label} {self.op} under {self.b.label}"


@dataclass(frozen=True, slots=True)
class NotTested:
    """A sentence no measurement can settle (``why`` says so): reported, never judged."""

    why: str

    def text(self, key: str) -> str:
        return self.why


@dataclass(frozen=True)
class Claim:
    """One testable sentence: ``says`` (quoted from the review, or a flaw it ``missed``), where it says it, and how
    it is measured (``scenario``: a shipped scenario's name; ``overrides`` for every variant; ``shown``: variants
    measured beside the test's for context)."""

    number: str
    where: str
    says: str
    scenario: str
    key: str
    test: Bound | Order | NotTested
    shown: tuple[Variant, ...] = ()
    overrides: Mapping[str, Any] = field(default_factory=dict)
    missed: bool = False
    note: str = ""

    @property
    def variants(self) -> tuple[Variant, ...]:
        if isinstance(self.test, Bound):
            tested: tuple[Variant, ...] = (self.test.variant,)
        elif isinstance(self.test, Order):
            tested = (self.test.a, self.test.b)
        else:
            tested = ()
        return tuple(dict.fromkeys((*tested, *self.shown)))


@dataclass(frozen=True)
class Effort:
    """A fix's effort as the review estimates it, and where what it buys is measured."""

    fix: int
    what: str
    effort: str
    scenario: str
    key: str


#: The review's claims, in its order, then the flaws it never names.
CLAIMS: tuple[Claim, ...] = (
    Claim("0", "Summary", "Your service setup is 90% solid", "crash", "routing.success_rate",
          NotTested("no measurement defines '90% solid': the claims below measure its parts")),
    Claim("1", "Summary, critical gap 1", "Service registry doesn't clean up when workers disappear",
          "graceful", "unregister.index_entries_left", Bound(BASELINE, ">", 0), shown=(FIXES[1],),
          note="A graceful stop unregisters the worker; its id stays in both service indexes."),
    Claim("2", "Summary, critical gap 2", "Stale workers accumulate over time",
          "crash", "pollution.final", Bound(BASELINE, ">", 0), shown=(FIXES[2], REFERENCE)),
    Claim("3", "Test Case 1", "Kill worker, wait 90 seconds: should show 0 workers for that service",
          "review/test_case_1", "registry.dead_entries.final", Bound(SEED_FIXES, "==", 0),
          shown=(FIXES[2], REFERENCE), overrides={"duration": "210s"},
          note="Run as the review writes it: no traffic, checked 90 s after the kill (the run ends there)."),
    Claim("4", "Fix #2", "Automatic stale worker cleanup (in the service router) removes crashed workers",
          "review/test_case_1", "pollution.final", Bound(FIXES[2], "==", 0), shown=(BASELINE, REFERENCE),
          note="Test Case 1 without traffic, 5 minutes after the kill: Fix #2 cleans only when it routes a request."),
    Claim("5", "Test Case 2", "Graceful shutdown: should show worker removed instantly (with Fix #1)",
          "graceful", "unregister.index_entries_left", Bound(FIXES[1], "==", 0), shown=(BASELINE,)),
    Claim("6", "Test Case 3", "Kill one of two workers: requests should route to the remaining healthy worker",
          "routing_resilience", "routing.success_rate", Bound(SEED_FIXES, ">=", 0.99),
          shown=(BASELINE, FIXES[2], REFERENCE),
          note="The review's fixes as written; 0.99: what 'should route' can mean with one request in a hundred lost."),
    Claim("7", "Fix #4", "Load-based load balancing: an overloaded worker gets less traffic than with random",
          "stale_herd", "latency.mean", Order(FIXES[4], "<", BASELINE), shown=(SEED_FIXES, REFERENCE),
          note="20 single-slot machines at 90% load; load figures arrive with the 30 s heartbeat."),
    Claim("8", "Summary", "Implement Fix #1 and #2 before deploying more workers; the rest can wait "
          "(the fixed setup routes at least as well)",
          "fleet/fleet_day", "routing.success_rate", Order(SEED_FIXES, ">", BASELINE),
          overrides={"duration": "2h", "faults": []},
          note="At fleet size: 100 machines, 20 requests/s, 2 edges, the first 2 h of the fleet day."),
    Claim("9", "Flaw #3", "Worker registration race condition (get-then-put): two agents can both become leader",
          "leader_race", "leader.max_concurrent", Bound(BASELINE, ">", 1, some=True), shown=(REFERENCE,)),
    Claim("10", "Flaw #4", "No worker deduplication: restarts leave duplicate worker records",
          "restart_storm", "registry.duplicates.max", Bound(BASELINE, ">", 0), shown=(FIXES[5], REFERENCE)),
    Claim("M1", "never named", "Lost updates: registrations through several edges overwrite each other's "
          "index entries (the review's fixes keep the read-modify-write)",
          "registration_burst", "registry.loss.max", Bound(SEED_FIXES, ">", 0), shown=(BASELINE, REFERENCE),
          missed=True),
    Claim("M2", "never named", "The 1-write-per-second-per-key limit refuses registry writes at fleet size, and "
          "the refused registrations leave the indexes",
          "fleet/fleet_day", "registry.loss.max", Bound(SEED_FIXES, ">", 0), shown=(BASELINE,),
          overrides={"duration": "2h", "faults": []}, missed=True),
)  # fmt: skip

#: The review's impact table: each fix's effort, and the scenario and key where what it buys shows.
EFFORTS: tuple[Effort, ...] = (
    Effort(1, "Service registry cleanup", "Low (2 hours)", "graceful", "unregister.index_entries_left"),
    Effort(2, "Stale worker cleanup", "Medium (4 hours)", "crash", "pollution.final"),
    Effort(3, "Service health in heartbeat", "Low (3 hours)", "service_crash", "routing.success_rate"),
    Effort(4, "Load-based balancing", "Low (2 hours)", "stale_herd", "latency.mean"),
    Effort(5, "Worker deduplication", "Medium (6 hours)", "restart_storm", "registry.duplicates.max"),
)


@dataclass(frozen=True)
class Finding:
    """A claim's verdict and its evidence: per variant label, the values over the seeds (seed -> value)."""

    claim: Claim
    verdict: Verdict
    values: Mapping[str, Mapping[int, float]]
    reason: str

    def interval(self, label: str) -> tuple[float, float, int]:
        """``(mean, 95% half-width, n)`` of the variant's values."""
        return mean_ci(list(self.values.get(label, {}).values()))


_HOLDS: dict[str, Callable[[float, float], bool]] = {
    "==": lambda x, v: x == v,
    ">": lambda x, v: x > v,
    ">=": lambda x, v: x >= v,
    "<": lambda x, v: x < v,
    "<=": lambda x, v: x <= v,
}


def judge(claim: Claim, values: Mapping[str, Mapping[int, float]]) -> Finding:
    """The verdict of ``claim`` from ``values`` (variant label -> {seed: value}); see the module docstring."""
    test = claim.test
    if isinstance(test, NotTested):
        return Finding(claim, "not tested", values, test.why)
    if isinstance(test, Bound):
        seen = [v for v in values.get(test.variant.label, {}).values() if math.isfinite(v)]
        if not seen:
            return Finding(claim, "not tested", values, "no run measured the key")
        mean, half, n = mean_ci(seen)
        low, high = mean - half, mean + half
        holds = _HOLDS[test.op]
        every = all(holds(x, test.value) for x in seen)
        none_ = not any(holds(x, test.value) for x in seen)
        if test.op == "==":  # the interval of a key that equals v in every seed is [v, v]
            confirmed = every
            refuted = none_ and (low > test.value or high < test.value)
        else:
            confirmed = every and holds(low, test.value) and holds(high, test.value)
            refuted = none_ and not holds(low, test.value) and not holds(high, test.value)
        verdict: Verdict = "confirmed" if confirmed else "refuted" if refuted else "partly"
        if test.some:
            verdict = "partly" if none_ else "confirmed"
        kept = sum(holds(x, test.value) for x in seen)
        reason = f"{test.text(claim.key)}: {kept} of {n} seeds, mean {format_interval(mean, half)}"
        return Finding(claim, verdict, values, reason)
    a = [v for v in values.get(test.a.label, {}).values() if math.isfinite(v)]
    b = [v for v in values.get(test.b.label, {}).values() if math.isfinite(v)]
    if not a or not b:
        return Finding(claim, "not tested", values, "a variant has no value")
    low, high = welch_difference(a, b)
    claimed = (high < 0) if test.op == "<" else (low > 0)
    opposite = (low > 0) if test.op == "<" else (high < 0)
    verdict = "confirmed" if claimed else "refuted" if opposite else "partly"
    reason = (
        f"{test.text(claim.key)}: the difference of the means is {float(np.mean(a) - np.mean(b)):+.4g}, "
        f"95% Welch interval [{low:.4g}, {high:.4g}]"
    )
    return Finding(claim, verdict, values, reason)


def welch_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """The Welch interval of ``mean(a) - mean(b)`` (with no variance on either side: the difference itself)."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(xa.mean() - xb.mean())
    va = xa.var(ddof=1) / xa.size if xa.size > 1 else 0.0
    vb = xb.var(ddof=1) / xb.size if xb.size > 1 else 0.0
    half = welch_half_width(float(va), xa.size, float(vb), xb.size, confidence)
    return diff - half, diff + half


# --- running ---------------------------------------------------------------------------------------------------


def _scenario_path(name: str) -> Path:
    shipped = shipped_scenarios()
    if shipped is None:
        raise FileNotFoundError("the shipped scenarios are not installed")
    return shipped / f"{name}.yaml"


def runs_needed(
    claims: Sequence[Claim], efforts: Sequence[Effort]
) -> list[tuple[str, Variant, tuple[tuple[str, Any], ...]]]:
    """Every (scenario, variant, claim overrides) to run, once each."""
    wanted: dict[tuple[str, Variant, tuple[tuple[str, Any], ...]], None] = {}
    for claim in claims:
        extra = tuple(sorted(claim.overrides.items(), key=lambda kv: kv[0]))
        for variant in claim.variants:
            wanted[claim.scenario, variant, _hashable(extra)] = None
    for effort in efforts:
        for variant in (BASELINE, FIXES[effort.fix]):
            wanted[effort.scenario, variant, ()] = None
    return list(wanted)


def _hashable(items: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in items)


@dataclass(frozen=True)
class FindingsResult:
    """What :func:`findings` measured: a :class:`Finding` per claim, the effort table's rows, the seeds."""

    findings: list[Finding]
    efforts: Sequence[tuple[Effort, Mapping[int, float], Mapping[int, float]]]
    seeds: list[int]
    runs: pd.DataFrame
    sources: Mapping[str, str]


def findings(
    seeds: Iterable[int] = range(20),
    *,
    out: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    executor: Any = None,
    resume: bool = False,
    claims: Sequence[Claim] = CLAIMS,
    efforts: Sequence[Effort] = EFFORTS,
    progress: Any = None,
) -> FindingsResult:
    """Run every claim's variants over ``seeds`` (one sweep; stored per run in ``out/runs`` when ``out`` is
    given, so ``resume`` skips what is done) and judge each claim."""
    from ..sweep import sweep

    seeds = list(seeds)
    needed = runs_needed(claims, efforts)
    scenarios: list[Scenario] = []
    cache: dict[str, Scenario] = {}
    for name, variant, extra in needed:
        base = cache.setdefault(name, load_scenario(_scenario_path(name)))
        overrides = variant.with_({k: list(v) if isinstance(v, tuple) else v for k, v in extra})
        scenarios.append(base.with_overrides(overrides))
    store = None
    if out is not None:
        store = Path(open_report(out, "findings")) / "runs"
    runs = sweep(scenarios, None, seeds, executor, store, jobs=jobs, resume=resume, progress=progress)
    from ..sweep.plan import plan_runs

    ids = {spec.run_id: index for index, spec in enumerate(plan_runs(scenarios, None, seeds))}
    order = [ids[run_id] // len(seeds) for run_id in runs["run_id"]]
    runs = runs.assign(_needed=order)

    def values(name: str, variant: Variant, extra: tuple[tuple[str, Any], ...], key: str) -> dict[int, float]:
        index = needed.index((name, variant, extra))
        part = runs[runs["_needed"] == index]
        if key not in part:
            return {}
        numbers = pd.to_numeric(part[key], errors="coerce")
        return {int(s): float(v) for s, v in zip(part["seed"], numbers, strict=True) if math.isfinite(v)}

    judged = []
    for claim in claims:
        extra = _hashable(tuple(sorted(claim.overrides.items(), key=lambda kv: kv[0])))
        measured = {v.label: values(claim.scenario, v, extra, claim.key) for v in claim.variants}
        judged.append(judge(claim, measured))
    effort_rows = [
        (e, values(e.scenario, BASELINE, (), e.key), values(e.scenario, FIXES[e.fix], (), e.key)) for e in efforts
    ]
    sources = {name: str(_scenario_path(name)) for name, _, _ in needed}
    return FindingsResult(judged, effort_rows, seeds, runs.drop(columns="_needed"), sources)


# --- the report ------------------------------------------------------------------------------------------------


def replay_command(claim: Claim, variant: Variant, seed: int, source: str) -> str:
    """The ``rmasim run`` line that gives the claim's key under ``variant`` for one seed."""
    path = Path(source)
    try:
        shown = str(path.relative_to(Path.cwd()))
    except ValueError:
        shown = str(path)
    sets = []
    for key, value in variant.with_(dict(claim.overrides)).items():
        text = "true" if value is True else "false" if value is False else "[]" if value == [] else str(value)
        sets += ["--set", shlex.quote(f"{key}={text}")]
    return " ".join(["rmasim", "run", shlex.quote(shown), "--seed", str(seed), *sets])


def _evidence(finding: Finding, label: str) -> str:
    mean, half, n = finding.interval(label)
    if n == 0:
        return f"{label}: -"
    return f"{finding.claim.key} = {format_interval(mean, half)} ({label}, {finding.claim.scenario}, n={n})"


def _tested_label(claim: Claim) -> str | None:
    if isinstance(claim.test, Bound):
        return claim.test.variant.label
    return claim.test.a.label if isinstance(claim.test, Order) else None


def _variant(claim: Claim, label: str) -> Variant:
    return next(v for v in claim.variants if v.label == label)


def _row(finding: Finding, sources: Mapping[str, str]) -> list[str]:
    claim = finding.claim
    label = _tested_label(claim)
    if label is None:
        return [claim.number, f'"{claim.says}" ({claim.where})', finding.verdict, finding.reason, "-"]
    seeds = sorted(finding.values.get(label, {}))
    test = claim.test
    if isinstance(test, Bound) and test.some:  # replay a seed that shows what can happen, when one does
        showing = [s for s in seeds if _HOLDS[test.op](finding.values[label][s], test.value)]
        seeds = showing or seeds
    replay = "-"
    if seeds:
        seed = seeds[0]
        value = finding.values[label][seed]
        command = replay_command(claim, _variant(claim, label), seed, sources[claim.scenario])
        replay = f"{command}  # {claim.key} = {value:.6g}"
    evidence = _evidence(finding, label)
    if isinstance(claim.test, Order):
        evidence += "; " + _evidence(finding, claim.test.b.label)
    return [claim.number, f'"{claim.says}" ({claim.where})', finding.verdict, evidence, replay]


_HEADER = ["№", "the review says", "verdict", "evidence (mean ± 95% interval, variant, scenario, seeds)", "replay"]


def _plot(finding: Finding, path: Path) -> Path:
    claim = finding.claim
    rows = []
    for variant in claim.variants:
        mean, half, n = finding.interval(variant.label)
        rows.append({"scenario": claim.scenario, "variant": variant.label, "key": claim.key, "mean": mean,
                     "half_width": half, "ci_low": mean - half, "ci_high": mean + half, "n": n,
                     "better": better_direction(claim.key)})  # fmt: skip
    return plot_intervals(pd.DataFrame(rows), ["variant"], path, [claim.key])


def write_findings(result: FindingsResult, out: str | os.PathLike[str], *, wall_seconds: float | None = None) -> Path:
    """Write ``index.md``, a self-contained ``index.html`` and ``plots/<claim>.png`` into ``out`` (each file
    atomically; ``out`` is an rmasim report directory, made when missing)."""
    from .html import data_uri, escape, page, table

    out = Path(open_report(out, "findings"))
    (out / "plots").mkdir(exist_ok=True)
    review = [f for f in result.findings if not f.claim.missed]
    missed = [f for f in result.findings if f.claim.missed]
    tally = ", ".join(
        f"{sum(f.verdict == v for f in result.findings)} {v}"
        for v in ("confirmed", "refuted", "partly", "not tested")
        if any(f.verdict == v for f in result.findings)
    )
    when = f", {wall_seconds:.0f} s wall" if wall_seconds is not None else ""
    intro = (
        f"Each claim measured over {len(result.seeds)} seeds ({len(result.runs)} runs{when}); {tally}. "
        "Every verdict is computed from the measured values by the rule written under its claim: a bound holds "
        "when every seed and the whole 95% interval satisfy it and fails when the interval lies on the other "
        "side (a thing the review says can happen: one seed that shows it); two variants are compared with "
        "Welch's two-sided t-test at 5%."
    )
    md = ["# The review, tested", "", intro, ""]
    style = ("<style>tr.verdict-confirmed td:nth-child(3) { background: #dafbe1; } "
             "tr.verdict-refuted td:nth-child(3) { background: #ffebe9; font-weight: 600; } "
             "tr.verdict-partly td:nth-child(3) { background: #fff8c5; }</style>")  # fmt: skip
    body = [style, "<h1>The review, tested</h1>", f"<p>{escape(intro)}</p>"]
    plots = {}
    for finding in result.findings:
        if finding.claim.variants:
            name = f"claim-{finding.claim.number}.png"
            plots[finding.claim.number] = _plot(finding, out / "plots" / name)
    for title, part in (("What the review says", review), ("Flaws the review missed", missed)):
        rows = [_row(f, result.sources) for f in part]
        md += [f"## {title}", "", *_md_table(_HEADER, rows), ""]
        body += [f"<h2>{escape(title)}</h2>", table(_HEADER, rows, row_classes=[f"verdict-{r[2]}" for r in rows])]
    md += ["## The claims one by one", ""]
    body.append("<h2>The claims one by one</h2>")
    for finding in result.findings:
        claim = finding.claim
        heading = f"{claim.number}. {claim.says}"
        lines = [f"**{finding.verdict}** - {finding.reason}."]
        if claim.note:
            lines.append(claim.note)
        if claim.variants:
            lines.append("Measured: " + "; ".join(_evidence(finding, v.label) for v in claim.variants) + ".")
            kind = "bound" if isinstance(claim.test, Bound) else "Welch, 5%"
            lines.append(f"Rule: {claim.test.text(claim.key)} ({kind}).")
        md += [f"### {heading}", "", *(f"{line}\n" for line in lines)]
        body += [f"<h3>{escape(heading)}</h3>", *(f"<p>{escape(line.replace('**', ''))}</p>" for line in lines)]
        if claim.number in plots:
            md += [f"![{claim.number}](plots/claim-{claim.number}.png)", ""]
            body.append(f'<p><img alt="{escape(claim.number)}" src="{data_uri(plots[claim.number])}"></p>')
    effort_header = ["fix", "the review's effort", "scenario", "key", "baseline", "the fix alone", "change (95% Welch)"]
    effort_rows = []
    for effort, base, fixed in result.efforts:
        b, f = list(base.values()), list(fixed.values())
        change = "-"
        if b and f:
            low, high = welch_difference(f, b)
            change = f"{float(np.mean(f) - np.mean(b)):+.4g} [{low:.4g}, {high:.4g}]"
        effort_rows.append([f"#{effort.fix} {effort.what}", effort.effort, effort.scenario, effort.key,
                            format_interval(*mean_ci(b)[:2]), format_interval(*mean_ci(f)[:2]), change])  # fmt: skip
    note = "What each fix buys on the scenario of its flaw, beside the review's estimate (reported, not judged)."
    md += ["## What each fix buys", "", note, "", *_md_table(effort_header, effort_rows), ""]
    body += ["<h2>What each fix buys</h2>", f"<p>{escape(note)}</p>", table(effort_header, effort_rows)]
    text = "\n".join(md).rstrip() + "\n"
    write_atomic(out / "index.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    html = page("rmasim findings", "\n".join(body))
    write_atomic(out / "index.html", lambda tmp: Path(tmp).write_text(html, encoding="utf-8"))
    return out


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return lines
