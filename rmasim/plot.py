"""Plots for notebooks: each returns a :class:`matplotlib.figure.Figure` built without pyplot, so the user's
backend and open figures are left as they are (display it, or ``fig.savefig("x.png")``).

    >>> import rmasim, rmasim.plot
    >>> fig = rmasim.plot.timeline(rmasim.run(rmasim.load_scenario("scenarios/crash.yaml")))  # doctest: +SKIP
"""

from __future__ import annotations

from .report.timeline import timeline_figure as timeline

__all__ = ["timeline"]
