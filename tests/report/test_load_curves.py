"""The load curves: the data behind jct_vs_load.png, and the picture itself."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest

from corral.report.load_curves import load_curves, plot_load_curves
from corral.sim.result import SimulationResult


def run(trace: str, policy: str, load: float, seed: int, jct: float) -> SimulationResult:
    summary = {"trace": trace, "policy": policy, "load": load, "seed": seed, "avg_jct": jct,
               "avg_queue_delay": jct / 10}
    return SimulationResult(summary, pd.DataFrame(), pd.DataFrame())


RESULTS = [run("t", policy, load, seed, jct)
           for load, seed, policy, jct in [
               (0.9, 0, "srtf", 900.0), (0.9, 0, "fifo", 4_000.0),
               (0.9, 1, "srtf", 1_100.0), (0.9, 1, "fifo", 6_000.0),
               (0.5, 0, "srtf", 500.0), (0.5, 0, "fifo", 800.0),
               (0.5, 1, "srtf", 500.0), (0.5, 1, "fifo", 1_000.0)]]


def test_one_row_per_trace_policy_and_load_over_the_seeds() -> None:
    curves = load_curves(RESULTS)
    assert curves[["trace", "policy", "load", "runs"]].values.tolist() == [
        ["t", "srtf", 0.5, 2], ["t", "srtf", 0.9, 2], ["t", "fifo", 0.5, 2], ["t", "fifo", 0.9, 2]]
    fifo_busy = curves.iloc[3]
    assert (fifo_busy["avg_jct_mean"], fifo_busy["avg_jct_min"], fifo_busy["avg_jct_max"]) == (
        5_000.0, 4_000.0, 6_000.0)
    assert fifo_busy["avg_queue_delay_mean"] == pytest.approx(500.0)


def test_a_missing_figure_is_left_out_of_the_mean() -> None:
    results = [*RESULTS, run("t", "fifo", 0.9, 2, float("nan"))]
    fifo_busy = load_curves(results).iloc[3]
    assert fifo_busy["runs"] == 3 and fifo_busy["avg_jct_mean"] == 5_000.0


def test_plot_has_a_row_of_panels_per_trace(tmp_path: Path) -> None:
    one = plot_load_curves(RESULTS, tmp_path / "one.png")
    two = plot_load_curves([*RESULTS, *(run("u", r.summary["policy"], r.summary["load"],
                                            r.summary["seed"], 1.0) for r in RESULTS)],
                           tmp_path / "two.png")
    height_one, width_one, _ = matplotlib.image.imread(one).shape
    height_two, width_two, _ = matplotlib.image.imread(two).shape
    assert width_one == width_two and height_two > 1.8 * height_one
