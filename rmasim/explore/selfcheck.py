"""The self-check: every reported failure replayed once from its YAML file in a fresh process (issue 14, Build 5).

Model (FoundationDB's determinism check): a failure a campaign reports is a file, and a file is only worth
handing to a person if it fails the same way wherever it is run. So each shrunk scenario is loaded from disk in a
new interpreter (``python -c 'from rmasim.explore.selfcheck import main; main()' FILE...``: nothing inherited
from the campaign's process, its caches or its imports; the results come back as JSON, floats exact) and run.
It must violate the same property at the same simulated time, to the last bit of the float. A mismatch (the
property holds, or is violated at another time, or the file does not load) is a :class:`Replay` whose ``ok``
is False and whose ``message`` says what differed.
"""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Replay", "main", "replay_file", "self_check"]

#: Wall seconds a fresh process may take for its files.
TIMEOUT = 1800.0


@dataclass(frozen=True)
class Replay:
    """One file's self-check: the ``expected`` violation time of ``property``, what the fresh process gave
    (``replayed``: None when the property held), and an ``error`` if the file did not load or run."""

    path: str
    property: str
    expected: float
    replayed: float | None
    error: str = ""

    @builtins.property
    def ok(self) -> bool:
        return not self.error and self.replayed == self.expected

    @builtins.property
    def message(self) -> str:
        if self.ok:
            return f"{self.path}: {self.property} violated at {self.expected:.6g} s, as expected"
        if self.error:
            return f"{self.path}: the replay failed: {self.error}"
        got = "it held" if self.replayed is None else f"violated at {self.replayed!r} s"
        want = f"expected {self.property} violated at {self.expected!r} s"
        return f"{self.path}: {want}; the replay in a fresh process: {got}"


def replay_file(path: str) -> dict[str, float]:
    """Load ``path`` and run it (its own seed); the violation time of each violated property, by name."""
    from ..engine import run
    from ..scenario import load_scenario

    result = run(load_scenario(path))
    return {p.name: float(p.violated_at) for p in result.properties if p.violated_at is not None}


def _replay(path: str) -> tuple[dict[str, float], str]:
    try:
        return replay_file(path), ""
    except Exception as exc:  # reported as the file's error, not lost with the others
        return {}, f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> None:
    """In the fresh process: replay each file named in ``argv`` (default ``sys.argv[1:]``); print one JSON list
    of ``[violations by name, error]``, one per file."""
    paths = list(sys.argv[1:] if argv is None else argv)
    print(json.dumps([_replay(path) for path in paths]))


def _fresh(paths: Sequence[str]) -> subprocess.Popen[str]:
    code = "from rmasim.explore.selfcheck import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *paths], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def self_check(cases: Sequence[tuple[str | os.PathLike[str], str, float]], jobs: int | None = None) -> list[Replay]:
    """Replay each ``(path, property, expected violation time)`` in a fresh Python process (the files split
    over at most ``jobs`` processes, default 1, run at once); one :class:`Replay` per case, in order."""
    paths = [os.fspath(path) for path, _, _ in cases]
    if not paths:
        return []
    n = max(1, min(jobs or 1, len(paths)))
    chunks = [paths[i::n] for i in range(n)]
    procs = [_fresh(chunk) for chunk in chunks]
    found: dict[str, tuple[dict[str, float], str]] = {}
    for chunk, proc in zip(chunks, procs, strict=True):
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err = f"timed out after {TIMEOUT:.0f} s"
        try:
            outcomes = json.loads(out) if proc.returncode == 0 else None
        except ValueError:
            outcomes = None
        if outcomes is None:
            last = (err or "").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            outcomes = [({}, f"the fresh process failed: {last[0]}")] * len(chunk)
        for path, (violations, error) in zip(chunk, outcomes, strict=True):
            found[path] = (violations, error)
    return [
        Replay(path, name, expected, found[path][0].get(name), found[path][1])
        for path, (_, name, expected) in zip(paths, cases, strict=True)
    ]
