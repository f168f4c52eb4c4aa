"""``rmasim presets``: every preset with every knob's value."""

from __future__ import annotations

from .common import console

__all__ = ["presets"]


def presets() -> None:
    """Show each preset's knob values (a value a preset overrides is marked with *)."""
    from rich.table import Table

    from ..scenario import PRESETS, Policy
    from ..scenario.units import format_duration

    table = Table(title="presets (* = overrides the baseline default)")
    table.add_column("knob")
    for name in PRESETS:
        table.add_column(name)
    for knob in Policy.model_fields:
        cells = []
        for preset in PRESETS.values():
            value = getattr(preset.policy, knob)
            text = format_duration(value) if isinstance(value, float) else str(value)
            cells.append(f"{text} *" if knob in preset.overrides else text)
        table.add_row(knob, *cells)
    console.print(table)
    for preset in PRESETS.values():
        console.print(f"[bold]{preset.name}[/]: {preset.doc}", highlight=False)
