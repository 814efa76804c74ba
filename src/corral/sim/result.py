"""What one simulation run produces, before anything is written to disk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

SUMMARY_KEYS = (
    "trace",
    "policy",
    "cluster",
    "load",
    "gpus",
    "jobs",
    "skipped",
    "avg_jct",
    "p50_jct",
    "p95_jct",
    "p99_jct",
    "avg_queue_delay",
    "p95_queue_delay",
    "avg_bounded_slowdown",
    "makespan",
    "gpu_alloc_rate",
    "frag_rate",
    "preemptions",
    "jain_fairness",
    "sim_wall_s",
    "jobs_per_s",
    "seed",
    "corral_version",
)
"""Keys of ``summary.json``, in the order they are written. Times are in seconds."""

TIMING_KEYS = ("sim_wall_s", "jobs_per_s")
"""The only summary keys that depend on the machine rather than on the inputs and seed."""

JOB_COLUMNS = (
    "job_id",
    "user",
    "queue",
    "tasks",
    "gpus_per_task",
    "gpu_type",
    "submit",
    "start",
    "end",
    "jct",
    "queue_delay",
    "run_time",
    "overhead",
    "preemptions",
    "nodes",
)
"""Columns of ``jobs.csv``: ``jct = queue_delay + run_time + overhead`` for every job."""

TIMESERIES_COLUMNS = ("time", "allocated_gpus", "pending_jobs", "running_jobs")
"""Columns of ``timeseries.csv``: one row per instant at which any of them changed."""


@dataclass(frozen=True)
class SimulationResult:
    """Summary figures, a per-job table and a cluster time series for one run."""

    summary: dict[str, Any]
    jobs: pd.DataFrame
    timeseries: pd.DataFrame
