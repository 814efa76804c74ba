"""The console summary: every headline figure present, in readable units."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from corral.report import summary_table
from corral.report.summary_table import skipped_total
from corral.sim.result import SimulationResult


def render(summary: dict) -> str:
    result = SimulationResult(summary=summary, jobs=pd.DataFrame(), timeseries=pd.DataFrame())
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(summary_table(result))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_figures_with_units() -> None:
    text = render({
        "trace": "philly", "policy": "fifo", "cluster": "96x8", "gpus": 768, "jobs": 10_000,
        "skipped": {"no_gpu": 3, "bad_number": 2}, "avg_jct": 27_374.4, "p50_jct": 1_500.0,
        "p95_jct": 90_000.0, "p99_jct": 200_000.0, "avg_queue_delay": 42.0,
        "p95_queue_delay": 5.25, "avg_bounded_slowdown": 3.14159, "makespan": 9_000_000.0,
        "gpu_alloc_rate": 0.8123, "preemptions": 12, "sim_wall_s": 0.5, "jobs_per_s": 20_000.0,
    })
    for expected in ("philly", "fifo", "96x8", "768 GPUs", "10,000", "27,374 s", "7.60 h",
                     "25.0 min", "42 s", "5.2 s", "3.14", "2,500.00 h", "81.2%", "12",
                     "0.50 s", "20,000 jobs/s"):
        assert expected in text, expected
    assert "skipped rows" in text and " 5" in text


def test_missing_and_nan_figures_show_a_dash() -> None:
    text = render({"jobs": 0, "avg_jct": float("nan")})
    assert "JCT avg" in text and "–" in text


def test_skipped_total_accepts_a_count_or_counts_per_reason() -> None:
    assert skipped_total({"a": 2, "b": 3}) == 5
    assert skipped_total(4) == 4
    assert skipped_total(None) is None
