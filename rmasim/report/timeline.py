"""The run's timeline: what the faults did to the registry, the workers, routing, latency and the stores.

Panels, over simulated minutes, sharing the x axis:

- **faults**: each fault a bar from its start to its heal (a crash to the machine's next start, a partition to
  its heal, ``<action>`` to ``<action>_end``; unhealed: to the end of the run; instantaneous: a tick), its label
  beside it, in lanes chosen so that no two labels or bars overlap; the same periods are shaded on every panel;
- **registry**: pollution (dead / all index entries), and the counts of lost entries and duplicate records;
- **workers**: live workers against index entries, and how many of those are dead;
- **routing**: success per interval;
- **latency**: p50 and p99 of the successful requests per interval (log scale);
- **stores**: KV writes per interval, strong-store operations beside them when the run recorded them;
- chosen by what the scenario exercises: a **load** heat map (requests forwarded to each machine per interval) for
  load scenarios, a **leaders** panel (agents believing they lead) for leader scenarios.

:func:`timeline_figure` builds a :class:`matplotlib.figure.Figure` without pyplot, so it never switches the
user's backend and a notebook shows it as it is; :func:`plot_timeline` writes it as ``timeline.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["FaultPeriod", "fault_periods", "label_lanes", "plot_timeline", "timeline_figure"]

#: The action that ends a fault, when it is not ``<action>_end``.
_HEALED_BY = {"crash": "start", "stop": "start", "partition": "heal", "kv_outage": "kv_restored",
              "service_crash": "service_restart"}  # fmt: skip
_ENDINGS = {"start", "heal", "kv_restored", "service_restart"}
_COLOURS = {
    "crash": "tab:red",
    "stop": "tab:orange",
    "partition": "tab:brown",
    "kv_outage": "tab:purple",
    "clock_jump": "tab:cyan",
    "edge_lag": "tab:pink",
    "service_crash": "tab:red",
    "service_slow": "tab:olive",
    "service_hang": "tab:olive",
    "service_errors": "tab:olive",
    "cpu_hog": "tab:gray",
    "hot_service": "tab:blue",
}
#: Load scenarios get the per-machine heat map: one of these faults, or an expectation on a load.* key.
_LOAD_FAULTS = {"cpu_hog", "hot_service", "traffic_burst"}
_FONT = 7.5
_WIDTH_IN = 11.0


@dataclass(frozen=True, slots=True)
class FaultPeriod:
    """A fault from ``start`` to ``end`` (simulated seconds; ``end == start`` for an instantaneous one, the run's
    end for one never healed), its ``label`` and whether it had an effect."""

    action: str
    target: str
    start: float
    end: float
    effective: bool = True

    @property
    def label(self) -> str:
        return f"{self.action} {self.target}"


def fault_periods(faults: Any, run_end: float, specs: Any = ()) -> list[FaultPeriod]:
    """Pair each fault record with the record that heals it (see the module docstring); a fault whose heal the
    run did not record ends at its spec's ``at + duration`` (``specs``: the scenario's faults) or, for a machine
    never restarted or a partition never healed, at ``run_end``."""
    periods: list[FaultPeriod] = []
    open_: dict[tuple[str, str], int] = {}
    for f in faults:
        action, target = str(f.action), str(f.target)
        closes = [a for a, healer in _HEALED_BY.items() if healer == action] if action in _ENDINGS else []
        if action.endswith("_end"):
            closes = [action.removesuffix("_end")]
        if closes:
            for base in closes:
                index = open_.pop((base, target), None)
                if index is not None:
                    p = periods[index]
                    periods[index] = FaultPeriod(p.action, p.target, p.start, float(f.t), p.effective)
                    break
            continue
        periods.append(FaultPeriod(action, target, float(f.t), float(f.t), bool(f.effective)))
        open_[action, target] = len(periods) - 1
    durations = {(str(spec.action), float(spec.at)): float(spec.duration) for spec in specs
                 if isinstance(getattr(spec, "duration", None), (int, float))}  # fmt: skip
    for (action, _), index in open_.items():
        p = periods[index]
        if (action, p.start) in durations:
            end = min(run_end, p.start + durations[action, p.start])
        elif action in _HEALED_BY:
            end = run_end
        else:
            continue
        periods[index] = FaultPeriod(p.action, p.target, p.start, end, p.effective)
    return periods


def label_lanes(periods: list[FaultPeriod], run_end: float, char_width: float) -> list[int]:
    """A lane per period such that, in one lane, a period starts after the previous one's bar and label end
    (``char_width``: the width of one label character in simulated seconds). Greedy interval colouring: the
    fewest lanes for bars sorted by start."""
    lanes: list[float] = []  # the time each lane is free from
    chosen = []
    for p in periods:
        occupied_until = max(p.end, p.start + (len(p.label) + 2) * char_width)
        for lane, free in enumerate(lanes):
            if p.start >= free:
                lanes[lane] = occupied_until
                chosen.append(lane)
                break
        else:
            lanes.append(occupied_until)
            chosen.append(len(lanes) - 1)
    return chosen


def _interval_edges(result: Any) -> np.ndarray:
    end = float(result.scenario.duration)
    width = max(float(result.scenario.sample_every), end / 240.0)
    return np.arange(0.0, end + width, width)


def _per_interval(requests: pd.DataFrame, edges: np.ndarray) -> pd.DataFrame:
    """Success share and p50/p99 latency of the successful requests, per interval of arrival."""
    if requests.empty:
        return pd.DataFrame(columns=["t", "success", "p50", "p99"])
    bins = np.clip(np.digitize(requests["t_arrival"].to_numpy(), edges) - 1, 0, len(edges) - 1)
    ok = (requests["outcome"] == "ok").to_numpy()
    frame = pd.DataFrame({"bin": bins, "ok": ok, "latency": requests["latency"].to_numpy(dtype=float)})
    success = frame.groupby("bin")["ok"].mean()
    good = frame[frame["ok"]].groupby("bin")["latency"]
    out = pd.DataFrame({"success": success, "p50": good.quantile(0.5), "p99": good.quantile(0.99)})
    return out.assign(t=edges[out.index.to_numpy()]).reset_index(drop=True)


def _wants_load(result: Any) -> bool:
    faults = {str(f.action) for f in result.faults}
    keys = [e.key for _, e in result.scenario.all_expectations()]
    return bool(faults & _LOAD_FAULTS) or any(k.startswith("load.") for k in keys)


def _wants_leaders(result: Any) -> bool:
    if "leaders" not in result.timeseries:
        return False
    keys = [e.key for _, e in result.scenario.all_expectations()]
    return any(k.startswith("leader.") for k in keys) or (result.summary.get("leader.max_concurrent") or 0) > 1


def timeline_figure(result: Any) -> Figure:
    """The timeline of ``result`` (a :class:`rmasim.RunResult`) as a Figure (see the module docstring)."""
    from matplotlib.figure import Figure

    end = float(result.scenario.duration)
    ts = result.timeseries
    requests = result.request_rows()
    periods = fault_periods(result.faults, end, result.scenario.faults)
    panels = ["faults", "registry", "workers", "routing", "latency", "stores"]
    if _wants_load(result) and not requests.empty:
        panels.append("load")
    if _wants_leaders(result):
        panels.append("leaders")
    heights = {"faults": 0.6 + 0.22 * max(1, len(set(label_lanes(periods, end, _char_seconds(end)))))}
    ratios = [heights.get(p, 1.6 if p == "load" else 1.0) for p in panels]
    fig = Figure(figsize=(_WIDTH_IN, 1.3 * sum(ratios) + 0.8), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    axes = list(np.atleast_1d(axes))
    by_name = dict(zip(panels, axes, strict=True))
    minutes = ts["t"].to_numpy(dtype=float) / 60.0 if len(ts) else np.array([])
    edges = _interval_edges(result)
    per = _per_interval(requests, edges)

    _faults_panel(by_name["faults"], periods, end)
    ax = by_name["registry"]
    if len(ts):
        ax.plot(minutes, ts["pollution"], color="tab:purple", drawstyle="steps-post", label="pollution")
        counts = ax.twinx()
        for column, colour, label in (("lost_entries", "tab:red", "lost entries"),
                                      ("duplicate_records", "tab:orange", "duplicate records")):  # fmt: skip
            if column in ts:
                counts.plot(minutes, ts[column], color=colour, lw=1, drawstyle="steps-post", label=label)
        counts.set_ylabel("count", fontsize=8)
        counts.set_ylim(bottom=0)
        _legend(ax, counts)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("registry\npollution")
    ax = by_name["workers"]
    if len(ts):
        ax.plot(minutes, ts["live_workers"], color="tab:green", drawstyle="steps-post", label="live workers")
        ax.plot(
            minutes,
            ts["index_entries"],
            color="tab:blue",
            drawstyle="steps-post",
            label="index entries (worker x service)",
        )
        ax.fill_between(minutes, 0, ts["dead_entries"], step="post", color="tab:red", alpha=0.35,
                        label="dead entries")  # fmt: skip
        _legend(ax)
    ax.set_ylabel("workers")
    ax.set_ylim(bottom=0)
    ax = by_name["routing"]
    if len(per):
        ax.plot(per["t"] / 60.0, per["success"], color="tab:blue", drawstyle="steps-post")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("routing\nsuccess")
    ax = by_name["latency"]
    if len(per) and per["p99"].notna().any():
        ax.plot(per["t"] / 60.0, per["p50"], color="tab:green", drawstyle="steps-post", label="p50")
        ax.plot(per["t"] / 60.0, per["p99"], color="tab:red", drawstyle="steps-post", label="p99")
        ax.set_yscale("log")
        from matplotlib.ticker import FuncFormatter, LogLocator

        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        _legend(ax)
    ax.set_ylabel("latency (s)\nof ok requests")
    ax = by_name["stores"]
    if len(ts):
        step_edges = np.concatenate([[minutes[0] - float(result.scenario.sample_every) / 60.0], minutes])
        ax.stairs(ts["kv_writes"].to_numpy(dtype=float), step_edges, fill=True, color="tab:gray", alpha=0.7,
                  label="KV writes")  # fmt: skip
        if "strong_ops" in ts and ts["strong_ops"].sum() > 0:
            ax.stairs(ts["strong_ops"].to_numpy(dtype=float), step_edges, color="tab:purple", lw=1.2,
                      label="strong-store operations")  # fmt: skip
        _legend(ax)
    ax.set_ylabel("store ops\nper interval")
    if "load" in by_name:
        _load_panel(by_name["load"], requests, edges)
    if "leaders" in by_name:
        ax = by_name["leaders"]
        ax.plot(minutes, ts["leaders"], color="tab:red", drawstyle="steps-post")
        ax.axhline(1, color="black", lw=0.6, ls=":")
        ax.set_ylabel("agents that\nbelieve they lead")
        ax.set_ylim(bottom=0)
    for name, ax in by_name.items():
        if name != "faults":
            for p in periods:
                if p.effective and p.end > p.start:
                    ax.axvspan(p.start / 60.0, p.end / 60.0, color=_colour(p.action), alpha=0.08, lw=0)
                elif p.effective:
                    ax.axvline(p.start / 60.0, color=_colour(p.action), lw=0.8, ls="--", alpha=0.6)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        ax.yaxis.label.set_size(8)
    axes[-1].set_xlim(0, end / 60.0)
    axes[-1].set_xlabel("simulated time (minutes)")
    fig.suptitle(f"{result.scenario.name} (seed {result.seed}, preset {result.scenario.coordinator.preset})",
                 fontsize=10)  # fmt: skip
    return fig


def _char_seconds(end: float) -> float:
    """The width of one label character in simulated seconds (the axes span about 85% of the figure)."""
    points = _WIDTH_IN * 0.85 * 72
    return end * (_FONT * 0.62) / points


def _colour(action: str) -> str:
    return _COLOURS.get(action, "black")


def _faults_panel(ax: Axes, periods: list[FaultPeriod], end: float) -> None:
    lanes = label_lanes(periods, end, _char_seconds(end))
    for p, lane in zip(periods, lanes, strict=True):
        y = -lane
        colour = _colour(p.action)
        alpha = 0.8 if p.effective else 0.3
        if p.end > p.start:
            ax.barh(y, (p.end - p.start) / 60.0, left=p.start / 60.0, height=0.5, color=colour, alpha=alpha)
        else:
            ax.plot([p.start / 60.0], [y], marker="|", ms=10, color=colour, alpha=alpha)
        ax.text(p.start / 60.0, y + 0.32, p.label + ("" if p.effective else " (no effect)"), fontsize=_FONT,
                color=colour, va="bottom", ha="left", clip_on=True)  # fmt: skip
    count = max(1, len(set(lanes)) if lanes else 1)
    ax.set_ylim(-count + 0.4, 1.0)
    ax.set_yticks([])
    ax.set_ylabel("faults")
    if not periods:
        ax.text(0.01, 0.3, "no faults", transform=ax.transAxes, fontsize=_FONT, color="gray")


def _load_panel(ax: Axes, requests: pd.DataFrame, edges: np.ndarray) -> None:
    """Requests forwarded to each machine per interval, one row per machine (busiest at the top)."""
    forwarded = requests[requests["target"].notna() & (requests["target"] != "")]
    if forwarded.empty:
        ax.set_ylabel("load")
        return
    machines = forwarded["target"].value_counts().index.tolist()[:60]
    index = {m: i for i, m in enumerate(machines)}
    rows = forwarded[forwarded["target"].isin(index)]
    grid = np.zeros((len(machines), len(edges) - 1))
    bins = np.clip(np.digitize(rows["t_arrival"].to_numpy(), edges) - 1, 0, len(edges) - 2)
    np.add.at(grid, (rows["target"].map(index).to_numpy(), bins), 1)
    image = ax.pcolormesh(edges / 60.0, np.arange(len(machines) + 1), grid, cmap="viridis", shading="flat")
    ax.set_yticks(np.arange(len(machines)) + 0.5)
    ax.set_yticklabels(machines, fontsize=6 if len(machines) > 12 else 7)
    ax.invert_yaxis()
    ax.set_ylabel("requests per\nmachine")
    ax.figure.colorbar(image, ax=ax, pad=0.01, label="per interval")


def _legend(*axes: Axes) -> None:
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    if handles:
        axes[0].legend(handles, labels, fontsize=7, loc="upper right", ncols=min(3, len(handles)), framealpha=0.7)


def plot_timeline(result: Any, path: str | Path) -> None:
    """Write :func:`timeline_figure` of ``result`` to ``path`` (PNG)."""
    fig = timeline_figure(result)
    fig.savefig(path, dpi=110)
