"""The run's timeline plot: registry pollution, routing success per interval and KV writes, faults marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_timeline"]

_FAULT_COLOURS = {
    "crash": "tab:red",
    "stop": "tab:orange",
    "start": "tab:green",
    "partition": "tab:brown",
    "heal": "tab:olive",
    "kv_outage": "tab:purple",
    "kv_restored": "tab:purple",
    "clock_jump": "tab:cyan",
    "edge_lag": "tab:pink",
    "edge_lag_end": "tab:pink",
}


def plot_timeline(result: Any, path: str | Path) -> None:
    """Three stacked panels over simulated minutes, with a vertical line at each effective fault."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = result.timeseries
    minutes = ts["t"] / 60.0 if len(ts) else []
    fig, axes = plt.subplots(3, 1, figsize=(10, 7.5), sharex=True, constrained_layout=True)
    panels = [
        ("pollution", "registry pollution\n(dead / all index entries)", "tab:purple", (0, 1.05)),
        ("success_rate", "routing success\n(per interval)", "tab:blue", (0, 1.05)),
        ("kv_writes", "KV writes\n(per interval)", "tab:gray", None),
    ]
    for ax, (column, label, colour, ylim) in zip(axes, panels, strict=True):
        if len(ts):
            if column == "kv_writes":
                # each sample counts the interval that ends at it: one step artist, not a bar per sample
                edges = [ts["t"].iloc[0] / 60.0 - result.scenario.sample_every / 60.0, *(ts["t"] / 60.0)]
                ax.stairs(ts[column].to_numpy(), edges, fill=True, color=colour)
            else:
                ax.plot(minutes, ts[column], color=colour, drawstyle="steps-post")
        ax.set_ylabel(label)
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        for fault in result.faults:
            if fault.effective:
                ax.axvline(fault.t / 60.0, color=_FAULT_COLOURS.get(fault.action, "black"), ls="--", lw=1)
    for fault in result.faults:
        if fault.effective:
            axes[0].annotate(
                f"{fault.action} {fault.target}",
                (fault.t / 60.0, 1.0),
                xytext=(3, -12),
                textcoords="offset points",
                fontsize=8,
                color=_FAULT_COLOURS.get(fault.action, "black"),
            )
    axes[-1].set_xlabel("simulated time (minutes)")
    fig.suptitle(f"{result.scenario.name} (seed {result.seed}, preset {result.scenario.coordinator.preset})")
    fig.savefig(path, dpi=110)
    plt.close(fig)
