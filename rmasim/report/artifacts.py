"""Write a run's artifacts into a directory, all or nothing.

Files: ``summary.json`` (the summary keys, sorted; byte-identical for the same scenario and seed),
``timeseries.csv``, ``requests.parquet`` (when the run kept request rows), ``timeline.png``,
``expectations.json``, ``properties.json`` (each judged property's verdict, when the run judged any),
``scenario.yaml`` (the scenario as run, overrides applied: ``rmasim run scenario.yaml --seed N`` replays it),
``events.jsonl`` (machine events and faults in time order, one JSON object a line) and ``run.json`` (seed, faults,
wall time: the only non-deterministic file). Everything is written into a temporary sibling directory first and
then swapped in with renames, so a crash or a bad input never leaves a half-written report; an existing ``out`` is
replaced only when it is an rmasim report (see :mod:`rmasim.outputs`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..outputs import replace_report

__all__ = ["run_events", "summary_json", "write_run"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summary_json(summary: dict[str, Any]) -> str:
    """The canonical text of a summary: sorted keys, NaN/inf as null, a final newline."""
    return json.dumps({k: _clean(v) for k, v in summary.items()}, sort_keys=True, indent=2) + "\n"


def _write_yaml(path: Path, data: Any) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep the model order
    with path.open("w") as handle:
        yaml.dump(data, handle)


def run_events(result: Any) -> list[dict[str, Any]]:
    """The run's events in time order, one dict each: machine events (``start``, ``crash``, ``stop``, ``exit``,
    ``register`` with its worker ids) and faults as applied (``{"kind": "fault", "action": ..., "target": ...,
    "effective": ...}``); at a tie, faults first (a fault causes the machine event at its time)."""
    rows: list[tuple[float, int, dict[str, Any]]] = []
    for f in result.faults:
        rows.append((float(f.t), 0, {"t": float(f.t), "kind": "fault", "action": f.action, "target": str(f.target),
                                     "effective": bool(f.effective)}))  # fmt: skip
    for e in result.events.to_dict("records"):
        t = float(e["t"])
        event: dict[str, Any] = {"t": t, "kind": str(e["kind"]), "machine": str(e["machine"]),
                                 "incarnation": int(e["incarnation"])}  # fmt: skip
        if e.get("worker_ids"):
            event["worker_ids"] = str(e["worker_ids"])
        rows.append((t, 1, event))
    return [event for _, _, event in sorted(rows, key=lambda r: (r[0], r[1]))]


def write_run(result: Any, out: str | os.PathLike[str]) -> Path:
    """Write every artifact of ``result`` (a :class:`rmasim.RunResult`) to ``out`` atomically; raise
    :class:`~rmasim.outputs.OutputError` when ``out`` is something rmasim must not replace."""
    from .timeline import plot_timeline

    out = Path(out)
    with replace_report(out, "run") as tmp:
        (tmp / "summary.json").write_text(summary_json(result.summary))
        result.timeseries.to_csv(tmp / "timeseries.csv", index=False)
        if result.request_log.rows:  # a run that kept totals only (request_records: false) has no rows to write
            result.requests.to_parquet(tmp / "requests.parquet", index=False)
        expectations = [{"expect": e.text, "passed": e.passed, "actual": _clean(e.actual)} for e in result.expectations]
        (tmp / "expectations.json").write_text(json.dumps(expectations, indent=2) + "\n")
        if result.properties:
            verdicts = [
                {"property": p.name, "kind": p.kind, "holds": p.holds, "violated_at": p.violated_at,
                 "entities": list(p.entities), "detail": p.detail, "checked": p.checked,
                 **({"reached_at": p.reached_at} if p.kind == "sometimes" else {})}
                for p in result.properties
            ]  # fmt: skip
            (tmp / "properties.json").write_text(json.dumps(verdicts, indent=2) + "\n")
        run_info = {
            "scenario": result.scenario.name,
            "source": str(result.scenario.source) if result.scenario.source else None,
            "seed": result.seed,
            "wall_seconds": result.wall_seconds,
            "faults": [
                {"t": f.t, "action": f.action, "target": f.target, "effective": f.effective} for f in result.faults
            ],
        }
        (tmp / "run.json").write_text(json.dumps(run_info, indent=2) + "\n")
        (tmp / "events.jsonl").write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in run_events(result)))
        _write_yaml(tmp / "scenario.yaml", result.scenario.model_dump(mode="json"))
        plot_timeline(result, tmp / "timeline.png")
    return out
