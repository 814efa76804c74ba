"""Shrinking long series to what a chart can show, without misrepresenting them.

A full-trace run changes its allocation hundreds of thousands of times; a chart a thousand
pixels wide cannot show more than a point per pixel, and a report carrying them all would be
megabytes. Step functions are averaged over equal time bins (so a bin's value is the GPU-time
in it divided by its width, and no spike or gap is silently skipped), and distributions are
kept at evenly spaced quantiles.
"""

from __future__ import annotations

import numpy as np


def binned_step_mean(times: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The time-average of a step function over each bin between consecutive *edges*.

    The function is 0 before ``times[0]``, takes ``values[i]`` from ``times[i]`` (sorted, ties
    allowed: the last of them holds) until the next time, and keeps its last value after.
    Returns ``len(edges) - 1`` means.
    """
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if times.size == 0:
        return np.zeros(max(edges.size - 1, 0))
    # area[i]: the integral from times[0] up to times[i].
    area = np.concatenate(([0.0], np.cumsum(values[:-1] * np.diff(times))))
    index = np.searchsorted(times, edges, side="right") - 1
    before = index < 0
    index = np.maximum(index, 0)
    at_edges = np.where(before, 0.0, area[index] + values[index] * (edges - times[index]))
    widths = np.diff(edges)
    return np.divide(np.diff(at_edges), widths, out=np.zeros_like(widths), where=widths > 0)


def cdf_points(values: np.ndarray, max_points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(x, fraction of values <= x) at up to *max_points* evenly spaced ranks, the smallest and
    largest value included; NaN values are left out."""
    ordered = np.sort(np.asarray(values, dtype=float))
    ordered = ordered[~np.isnan(ordered)]
    if ordered.size == 0:
        return ordered, ordered
    ranks = np.unique(np.linspace(0, ordered.size - 1, min(max_points, ordered.size)).round())
    ranks = ranks.astype(int)
    return ordered[ranks], (ranks + 1) / ordered.size
