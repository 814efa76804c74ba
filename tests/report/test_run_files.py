"""The run files: fixed key and column orders, lossless floats, identical bytes on rewrite."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corral.report import summary_json, write_run
from corral.sim.metrics import guarantees_met, queue_table
from corral.sim.result import (
    JOB_COLUMNS,
    QUEUE_SERIES_COLUMNS,
    SUMMARY_KEYS,
    TIMESERIES_COLUMNS,
    SimulationResult,
)


def make_result() -> SimulationResult:
    """Two jobs, one never started; columns and keys deliberately out of order."""
    summary = {key: i for i, key in enumerate(reversed(SUMMARY_KEYS))}
    summary.update(trace="tiny", policy="fifo", cluster="2x8", avg_jct=0.1 + 0.2,
                   p99_jct=float("nan"), gpu_alloc_rate=np.float64(1 / 3),
                   skipped={"no_gpu": 2, "bad_number": 1})
    jobs = pd.DataFrame({
        "job_id": ["a", "b,c"], "user": ["u1", "u2"], "queue": ["q", "q"],
        "tasks": [1, 2], "gpus_per_task": [0.5, 8.0], "gpu_type": ["", "V100"],
        "submit": [0.0, 10_000_000.5], "start": [1e-5, np.nan], "end": [3600.25, np.nan],
        "jct": [3600.25, np.nan], "queue_delay": [1e-5, np.nan], "run_time": [3600.0, np.nan],
        "overhead": [0.24999, 0.0], "preemptions": [0, 0], "resizes": [0, 0],
        "migrations": [0, 0], "nodes": ["n0", ""],
    })
    timeseries = pd.DataFrame({
        "running_jobs": [0, 1, 0], "pending_jobs": [1, 0, 1], "allocated_gpus": [0.0, 0.5, 0.0],
        "time": [0.0, 1e-5, 3600.25],
    })
    return SimulationResult(summary=summary, jobs=jobs[list(reversed(JOB_COLUMNS))],
                            timeseries=timeseries)


def test_writes_three_files_into_a_new_folder(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    paths = write_run(make_result(), out)
    assert [p.name for p in paths] == ["summary.json", "jobs.csv", "timeseries.csv",
                                      "queues.csv", "queue_timeseries.csv"]
    assert all(p.parent == out and p.is_file() for p in paths)


def test_summary_keys_in_fixed_order_and_valid_json(tmp_path: Path) -> None:
    text = (write_run(make_result(), tmp_path)[0]).read_text(encoding="utf-8")
    assert text.endswith("}\n") and "\n  \"trace\"" in text
    data = json.loads(text)
    assert tuple(data) == SUMMARY_KEYS
    assert data["avg_jct"] == 0.1 + 0.2
    assert data["p99_jct"] is None
    assert data["gpu_alloc_rate"] == 1 / 3
    assert data["skipped"] == {"no_gpu": 2, "bad_number": 1}


def test_summary_keys_beyond_the_fixed_ones_follow_sorted() -> None:
    data = json.loads(summary_json({"zeta": 1, "alpha": 2, "jobs": 3, "trace": "t"}))
    assert list(data) == ["trace", "jobs", "alpha", "zeta"]


def test_csv_columns_in_fixed_order(tmp_path: Path) -> None:
    _, jobs, timeseries, *_ = write_run(make_result(), tmp_path)
    assert jobs.read_text(encoding="utf-8").split("\n")[0] == ",".join(JOB_COLUMNS)
    assert timeseries.read_text(encoding="utf-8").split("\n")[0] == ",".join(TIMESERIES_COLUMNS)


def test_csv_floats_round_trip_exactly(tmp_path: Path) -> None:
    result = make_result()
    _, jobs_path, series_path, *_ = write_run(result, tmp_path)
    jobs = pd.read_csv(jobs_path, keep_default_na=False, na_values=[""],
                       dtype={"job_id": str, "nodes": str, "gpu_type": str})
    for column in ("submit", "start", "end", "overhead", "gpus_per_task"):
        expected = result.jobs[column].to_numpy(dtype=float)
        np.testing.assert_array_equal(jobs[column].to_numpy(dtype=float), expected)
    assert jobs["job_id"].tolist() == ["a", "b,c"]
    series = pd.read_csv(series_path)
    assert series["time"].tolist() == [0.0, 1e-5, 3600.25]


def test_rewrite_gives_identical_bytes(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in write_run(make_result(), tmp_path / "one")]
    second = [p.read_bytes() for p in write_run(make_result(), tmp_path / "two")]
    assert first == second
    assert all(b"\r" not in data for data in first)


def test_missing_column_is_named(tmp_path: Path) -> None:
    result = make_result()
    broken = SimulationResult(result.summary, result.jobs.drop(columns="nodes"),
                              result.timeseries)
    with pytest.raises(ValueError, match="nodes"):
        write_run(broken, tmp_path)


def test_infinite_summary_values_become_null() -> None:
    assert json.loads(summary_json({"makespan": math.inf}))["makespan"] is None


def test_guarantees_met_weighs_each_queue_by_the_gpu_hours_it_was_owed() -> None:
    # Queue a (quota 2) wants 4 GPUs for an hour and gets 1: owed 2 GPU-hours, got 1.
    # Queue b (quota 4) wants 2 for two hours and gets them: owed 4, got 4. No quota for c.
    series = pd.DataFrame.from_records(
        [(0.0, "a", 1.0, 4.0), (0.0, "b", 2.0, 2.0), (0.0, "c", 8.0, 8.0),
         (3600.0, "a", 0.0, 0.0)], columns=list(QUEUE_SERIES_COLUMNS))
    jobs = pd.DataFrame(columns=list(JOB_COLUMNS))
    queues = queue_table(jobs, series, {"a": (2.0, 1.0), "b": (4.0, 1.0)}, end=7200.0)
    by_name = queues.set_index("queue")
    assert by_name.loc["a", "owed_gpu_hours"] == 2.0 and by_name.loc["a", "share_met"] == 0.5
    assert by_name.loc["b", "owed_gpu_hours"] == 4.0 and by_name.loc["b", "share_met"] == 1.0
    assert math.isnan(by_name.loc["c", "share_met"])
    assert guarantees_met(queues) == (1.0 + 4.0) / 6.0
    assert guarantees_met(queues[queues["queue"] == "c"]) is None
