"""``rmasim presets``: every preset with every knob's value."""

from __future__ import annotations

from .common import console

__all__ = ["presets"]


def presets() -> None:
    """Show each preset's knob values (a value a preset overrides is marked with *)."""
    from rich.table import Table

    from ..report.reference import field_text
    from ..scenario import PRESETS, Policy

    table = Table(title="presets (* = overrides the baseline default)")
    table.add_column("knob")
    for name in PRESETS:
        table.add_column(name)
    for knob, field in Policy.model_fields.items():
        cells = []
        for preset in PRESETS.values():
            text = field_text(field, getattr(preset.policy, knob))
            cells.append(f"{text} *" if knob in preset.overrides else text)
        table.add_row(knob, *cells)
    console.print(table)
    for preset in PRESETS.values():
        console.print(f"[bold]{preset.name}[/]: {preset.doc}", highlight=False)
