"""``rmasim findings``: the review's claims measured over N seeds, with verdicts, evidence and replay commands."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from .common import bad_output, console, run_failure

__all__ = ["findings"]


def findings(
    seeds: Annotated[int, typer.Option("--seeds", min=1, max=1000, help="Seeds 0..N-1 per claim and variant.")] = 20,
    out: Annotated[Path, typer.Option("--out", help="Report directory (index.md, index.html, plots/, runs/).")] = Path(
        "reports/findings"
    ),
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes (1: in this process).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Skip the runs already stored in OUT/runs.")] = False,
    claims: Annotated[str | None, typer.Option("--claims", help="Only these claims, by number (e.g. 3,4,M1).")] = None,
) -> None:
    """Test the review: each claim's verdict (confirmed / refuted / partly / not tested) from measured intervals."""
    from ..outputs import check_target
    from ..report.findings import CLAIMS, EFFORTS, runs_needed, write_findings
    from ..report.findings import findings as measure
    from .sweep import _progress_reporter

    chosen = CLAIMS
    efforts = EFFORTS
    if claims:
        wanted = [c.strip() for c in claims.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in {claim.number for claim in CLAIMS}]
        if unknown:
            known = ", ".join(c.number for c in CLAIMS)
            console.print(f"--claims: no claim {', '.join(unknown)} (known: {known})", markup=False, style="red")
            raise typer.Exit(2)
        chosen = tuple(c for c in CLAIMS if c.number in wanted)
        efforts = ()
    with bad_output():
        check_target(out)
    start = time.perf_counter()
    report = _progress_reporter(len(runs_needed(chosen, efforts)) * seeds)
    try:
        with run_failure(), bad_output():
            result = measure(range(seeds), out=out, jobs=jobs, resume=resume, claims=chosen, efforts=efforts,
                             progress=report)  # fmt: skip
    finally:
        report.close()
    wall = time.perf_counter() - start
    with bad_output():
        write_findings(result, out, wall_seconds=wall)
    for f in result.findings:
        style = {"confirmed": "green", "refuted": "bold red", "partly": "yellow"}.get(f.verdict, "dim")
        console.print(f"{f.claim.number:>3} [{style}]{f.verdict:<10}[/] {f.claim.says}", highlight=False)
    console.print(f"findings: {len(result.runs)} runs in {wall:.0f} s -> {out / 'index.html'}", markup=False)
