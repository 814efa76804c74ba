"""The report's charts, drawn with matplotlib and returned as inline SVG markup.

SVG keeps the page one file that opens offline and stays sharp at any zoom. Text stays text
(searchable, and a fraction of the size of glyph outlines), anchored at its start, middle or
end, so a reader's fallback font shifts no label off its tick. Only
:class:`matplotlib.figure.Figure` is used, never pyplot, so no global state or GUI backend is
involved. Every chart gets its own id prefix: matplotlib numbers its elements ``figure_1``,
``line2d_1``... afresh in each file, and one HTML page must not repeat an id.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf")
"""Policy colours (matplotlib's tab10 less its grey, which marks demand)."""

DEMAND_COLOUR = "#8a8a8a"
QUOTA_COLOUR = "#000000"
WIDTH_IN = 11.0
"""Chart width in inches; the page scales the SVG to its column."""

DURATION_TICKS: tuple[tuple[float, str, bool], ...] = (
    (1, "1 s", True), (2, "2 s", False), (5, "5 s", False), (10, "10 s", True),
    (20, "20 s", False), (60, "1 min", True), (120, "2 min", False), (300, "5 min", False),
    (600, "10 min", True), (1200, "20 min", False), (3600, "1 h", True), (7200, "2 h", False),
    (6 * 3600, "6 h", False), (12 * 3600, "12 h", False), (86400, "1 d", True),
    (2 * 86400, "2 d", False), (5 * 86400, "5 d", False), (10 * 86400, "10 d", True),
    (20 * 86400, "20 d", False), (50 * 86400, "50 d", False), (100 * 86400, "100 d", True),
    (200 * 86400, "200 d", False), (500 * 86400, "500 d", False), (1000 * 86400, "1000 d", True),
)
"""Ticks of a log-scaled duration axis as (seconds, label, major): the major ones alone when
at least three fall in range, else all, so that a narrow range still gets labels."""

DURATION_FLOOR_S = 1.0
"""Durations below this are drawn at it: a log axis has no place for the zero delays that
jobs starting at once have."""


DASH = 4.0
"""Dash length (in line widths) of a curve drawn over an identical one."""


@dataclass(frozen=True)
class Curve:
    """One policy's line in a panel."""

    label: str
    colour: str
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Panel:
    """One set of axes: its curves, labels and an optional horizontal reference line."""

    title: str
    xlabel: str
    ylabel: str
    curves: Sequence[Curve]
    reference: tuple[float, str] | None = None


@dataclass(frozen=True)
class QueueCell:
    """One queue under one policy: allocation and demand over the same time bins, in hours."""

    hours: np.ndarray
    allocated: np.ndarray
    demand: np.ndarray
    quota: float | None
    note: str = ""


def policy_colours(names: Sequence[str]) -> dict[str, str]:
    """A colour per distinct name, in order of first appearance, the same on every chart."""
    distinct = list(dict.fromkeys(names))
    return {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(distinct)}


def distribution_chart(panels: Sequence[Panel], prefix: str) -> str:
    """Side-by-side CDFs over a log duration axis (x in seconds, y a fraction)."""
    fig, axes = _figure(1, len(panels), height=3.8)
    for ax, panel in zip(axes[0], panels, strict=True):
        for curve, width, style in zip(panel.curves, _widths(len(panel.curves), 1.4),
                                       _styles(panel.curves), strict=True):
            ax.plot(np.maximum(curve.x, DURATION_FLOOR_S), curve.y, color=curve.colour,
                    linewidth=width, linestyle=style)
        _label(ax, panel)
        ax.set_ylim(0, 1.0)
        _duration_axis(ax, "x", [c.x for c in panel.curves])
    return _svg(fig, prefix, _legend_entries(panels))


def time_chart(panels: Sequence[Panel], prefix: str) -> str:
    """Stacked panels over a shared time axis in hours."""
    fig, axes = _figure(len(panels), 1, height=2.6 * len(panels) + 0.6, sharex=True)
    for row, (ax, panel) in enumerate(zip(axes[:, 0], panels, strict=True)):
        top = max((float(np.max(c.y)) for c in panel.curves if len(c.y)), default=0.0)
        for curve, width, style in zip(panel.curves, _widths(len(panel.curves), 1.0),
                                       _styles(panel.curves), strict=True):
            ax.plot(curve.x, curve.y, color=curve.colour, linewidth=width, linestyle=style)
        if panel.reference is not None:
            level, text = panel.reference
            top = max(top, level)
            ax.axhline(level, color=QUOTA_COLOUR, linestyle="--", linewidth=0.9)
            ax.annotate(text, (1.0, level), xycoords=("axes fraction", "data"),
                        xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom",
                        fontsize=8)
        _label(ax, panel)
        if row < len(panels) - 1:
            ax.set_xlabel("")  # the shared time axis is labelled once, at the bottom
        ax.set_ylim(0, top * 1.12 if top > 0 else 1.0)
        ax.set_xlim(left=0)
    return _svg(fig, prefix, _legend_entries(panels))


def sweep_chart(panels: Sequence[Panel], prefix: str) -> str:
    """Side-by-side panels of a duration (log scale) against the load, a marker per run."""
    fig, axes = _figure(1, len(panels), height=3.6)
    for ax, panel in zip(axes[0], panels, strict=True):
        for curve, width, style in zip(panel.curves, _widths(len(panel.curves), 1.4),
                                       _styles(panel.curves), strict=True):
            ax.plot(curve.x, np.maximum(curve.y, DURATION_FLOOR_S), color=curve.colour,
                    marker="o", markersize=2.5 + 1.5 * width, linewidth=width,
                    linestyle=style)
        _label(ax, panel)
        _duration_axis(ax, "y", [c.y for c in panel.curves])
        loads = sorted({float(x) for curve in panel.curves for x in curve.x})
        if 0 < len(loads) <= 12:
            ax.set_xticks(loads, [f"{load:g}" for load in loads])
    return _svg(fig, prefix, _legend_entries(panels))


def queue_grid_chart(queues: Sequence[str], columns: Sequence[tuple[str, str]],
                     cells: dict[tuple[str, str], QueueCell], prefix: str) -> str:
    """Small multiples: a row per queue (shared y scale), a column per (label, colour) policy;
    allocation filled in the policy's colour, demand in grey, the quota dashed."""
    fig, axes = _figure(len(queues), len(columns), height=1.55 * len(queues) + 0.9,
                        sharex=True, sharey="row", width=WIDTH_IN)
    for row, queue in enumerate(queues):
        mine = [cell for (name, _), cell in cells.items() if name == queue]
        # Headroom above the highest curve or quota for the "share met" note.
        top = max((_row_peak(cell) for cell in mine), default=0.0) * 1.25 or 1.0
        for col, (label, colour) in enumerate(columns):
            ax = axes[row, col]
            cell = cells.get((queue, label))
            if cell is not None:
                ax.plot(cell.hours, cell.demand, color=DEMAND_COLOUR, linewidth=0.8)
                ax.fill_between(cell.hours, cell.allocated, color=colour,
                                alpha=0.35, linewidth=0)
                ax.plot(cell.hours, cell.allocated, color=colour, linewidth=0.9)
                if cell.quota is not None:
                    ax.axhline(cell.quota, color=QUOTA_COLOUR, linestyle="--", linewidth=0.9)
                if cell.note:
                    ax.text(0.98, 0.95, cell.note, transform=ax.transAxes, ha="right",
                            va="top", fontsize=7,
                            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
            ax.set_ylim(0, top)
            ax.set_xlim(left=0)
            ax.tick_params(labelsize=7)
            ax.grid(True, color="#e6e6e6", linewidth=0.6)
            ax.set_axisbelow(True)
            if row == 0:
                ax.set_title(_plain(label), fontsize=9, color=colour, fontweight="bold")
            if col == 0:
                ax.set_ylabel(f"{_plain(queue)}\nGPUs", fontsize=8)
            if row == len(queues) - 1:
                ax.set_xlabel("time (h)", fontsize=8)
    entries = [("allocated GPUs (policy colour)", Line2D([], [], color="#555555", linewidth=5,
                                                         alpha=0.35)),
               ("demand (GPUs its jobs ask for)", Line2D([], [], color=DEMAND_COLOUR))]
    if any(cell.quota is not None for cell in cells.values()):
        entries.append(("quota", Line2D([], [], color=QUOTA_COLOUR, linestyle="--")))
    return _svg(fig, prefix, entries)


def _row_peak(cell: QueueCell) -> float:
    peaks = [float(np.max(series)) for series in (cell.allocated, cell.demand) if len(series)]
    return max([*peaks, cell.quota or 0.0])


def _figure(rows: int, cols: int, *, height: float, width: float = WIDTH_IN,
            sharex: bool = False, sharey: bool | str = False) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=sharex, sharey=sharey)
    return fig, axes


def _widths(count: int, thinnest: float) -> list[float]:
    """Line widths falling from the first curve to the last, so that policies whose lines
    coincide (a lightly loaded cluster) still show as nested stripes, not one line."""
    step = min(0.5, 2.0 / max(count - 1, 1))
    return [thinnest + step * (count - 1 - index) for index in range(count)]


def _styles(curves: Sequence[Curve]) -> list[str | tuple[float, tuple[float, float]]]:
    """Solid, except a curve that lies exactly on an earlier one: dashed, each such copy
    offset from the last, so every colour of a coinciding set shows along the line (nested
    widths alone leave stripes too thin to tell apart)."""
    styles: list[str | tuple[float, tuple[float, float]]] = []
    for index, curve in enumerate(curves):
        copies = sum(np.array_equal(curve.x, earlier.x) and np.array_equal(curve.y, earlier.y)
                     for earlier in curves[:index])
        styles.append((DASH * (copies - 1), (DASH, DASH * copies)) if copies else "solid")
    return styles


def _label(ax: Axes, panel: Panel) -> None:
    ax.set_title(_plain(panel.title), fontsize=11, loc="left")
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    ax.grid(True, color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    if not any(len(curve.x) for curve in panel.curves):
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center",
                color="#777777")


def _duration_axis(ax: Axes, which: str, data: Sequence[np.ndarray]) -> None:
    """Log scale with ticks at round durations (1 min, 1 h, 1 d...) spanning *data*."""
    finite = [np.asarray(d, dtype=float) for d in data if len(d)]
    values = np.concatenate(finite) if finite else np.array([])
    values = values[np.isfinite(values)]
    low = max(float(values.min()), DURATION_FLOOR_S) if values.size else DURATION_FLOOR_S
    high = max(float(values.max()), low * 10) if values.size else 3600.0
    low, high = low / 1.3, high * 1.3
    inside = [(s, text, major) for s, text, major in DURATION_TICKS if low <= s <= high]
    if sum(major for _, _, major in inside) >= 3:
        inside = [tick for tick in inside if tick[2]]
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    (ax.set_xlim if which == "x" else ax.set_ylim)(low, high)
    axis.set_major_locator(FixedLocator([s for s, _, _ in inside]))
    labels = {s: text for s, text, _ in inside}
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: labels.get(value, "")))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def _legend_entries(panels: Sequence[Panel]) -> list[tuple[str, Line2D]]:
    """One legend entry per policy, in order, however many panels it appears in."""
    seen: dict[str, Line2D] = {}
    for panel in panels:
        for curve in panel.curves:
            seen.setdefault(curve.label, Line2D([], [], color=curve.colour, linewidth=2))
    return list(seen.items())


def _svg(fig: Figure, prefix: str, legend: Sequence[tuple[str, Line2D]]) -> str:
    """The figure as an ``<svg>`` element for inlining: no XML prolog, comments or fixed
    size, and every id (and reference to one) prefixed with *prefix*."""
    if legend:
        fig.legend([handle for _, handle in legend], [_plain(text) for text, _ in legend],
                   loc="outside upper center", ncols=min(len(legend), 6), frameon=False)
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.DOTALL)
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
    text = re.sub(r'(\sid="|href="#|url\(#)', rf"\g<1>{prefix}-", text)
    return text.strip()


def _plain(text: str) -> str:
    """*text* with ``$`` escaped, so that matplotlib does not read a name as mathtext."""
    return text.replace("$", r"\$")
