"""How policies behave as the cluster gets busier: average JCT and queueing delay against load.

:func:`load_curves` is the data (one row per trace, policy and load, over the seeds run) and
:func:`plot_load_curves` draws it, one line per policy, for ``jct_vs_load.png``. With several
seeds the line is their mean and a band spans their lowest to highest value, so what the
order of arrivals alone does is visible beside what the load does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from corral.sim.result import SimulationResult

LOAD_CURVES_FILE = "jct_vs_load.png"

CURVE_METRICS = (("avg_jct", "average JCT"), ("avg_queue_delay", "average queueing delay"))
"""Summary keys drawn against load, one panel each, with their panel titles."""

_UNITS = ((3_600.0, "hours"), (60.0, "minutes"), (1.0, "seconds"))


def load_curves(results: Sequence[SimulationResult]) -> pd.DataFrame:
    """One row per (trace, policy, load): ``runs`` (seeds) and, per metric of
    :data:`CURVE_METRICS`, its ``_mean``, ``_min`` and ``_max`` over the seeds.

    Traces and policies keep the order of *results*; loads are sorted, as a plot's x axis is.
    """
    keys = ["trace", "policy", "load"]
    frame = pd.DataFrame([{key: r.summary.get(key) for key in (*keys, *dict(CURVE_METRICS))}
                          for r in results], columns=[*keys, *dict(CURVE_METRICS)])
    for key, _ in CURVE_METRICS:
        frame[key] = pd.to_numeric(frame[key], errors="coerce")
    for key in ("trace", "policy"):  # categories in order of appearance sort as given
        frame[key] = pd.Categorical(frame[key], categories=list(dict.fromkeys(frame[key])))
    stats = {f"{key}_{stat}": (key, stat) for key, _ in CURVE_METRICS
             for stat in ("mean", "min", "max")}
    table = frame.groupby(keys, observed=True).agg(runs=("load", "size"), **stats)
    table = table.reset_index()
    return table.astype({"trace": str, "policy": str})


def plot_load_curves(results: Sequence[SimulationResult], path: Path) -> Path:
    """Draw :func:`load_curves` into the PNG *path*: one row of panels per trace, one panel
    per metric, one line per policy; return *path*."""
    curves = load_curves(results)
    traces = list(dict.fromkeys(curves["trace"]))
    # Imported here: matplotlib takes most of a second to load; only the plot needs it.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.0 * len(CURVE_METRICS), 3.6 * max(len(traces), 1)),
                    layout="constrained")
    axes = figure.subplots(max(len(traces), 1), len(CURVE_METRICS), squeeze=False)
    for row, trace in zip(axes, traces, strict=False):
        of_trace = curves[curves["trace"] == trace]
        for panel, (key, title) in zip(row, CURVE_METRICS, strict=True):
            scale, unit = _unit(of_trace[f"{key}_max"].max())
            for policy, line in of_trace.groupby("policy", sort=False):
                drawn = panel.plot(line["load"], line[f"{key}_mean"] / scale, marker="o",
                                   label=str(policy))
                if (line["runs"] > 1).any():
                    panel.fill_between(line["load"], line[f"{key}_min"] / scale,
                                       line[f"{key}_max"] / scale, alpha=0.2,
                                       color=drawn[0].get_color(), linewidth=0)
            panel.set_title(f"{trace}: {title}", fontsize="medium")
            panel.set_xlabel("load (arrival-rate factor)")
            panel.set_ylabel(unit)
            panel.set_ylim(bottom=0)
            panel.grid(alpha=0.3)
        seeds = int(of_trace["runs"].max())
        row[0].legend(title="policy" if seeds == 1 else f"policy (mean; band: {seeds} seeds)",
                      fontsize="small", title_fontsize="small")
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path


def _unit(largest: float) -> tuple[float, str]:
    """The unit that keeps the largest value on an axis readable: hours for hours-long JCTs."""
    for scale, unit in _UNITS:
        if largest >= 2 * scale:
            return scale, unit
    return 1.0, "seconds"
