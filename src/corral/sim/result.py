"""What one simulation run produces, before anything is written to disk."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    "resizes",
    "migrations",
    "resize_overhead_s",
    "jain_fairness",
    "queue_share_met",
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
    "resizes",
    "migrations",
    "nodes",
)
"""Columns of ``jobs.csv``: ``jct = queue_delay + run_time + overhead`` for every job; the
overhead includes what its resizes and migrations cost (``resize_overhead_s`` in the summary
sums that part over all jobs). ``tasks`` is the gang size the job asked for."""

TIMESERIES_COLUMNS = ("time", "allocated_gpus", "pending_jobs", "running_jobs")
"""Columns of ``timeseries.csv``: one row per instant at which any of them changed."""

QUEUE_SERIES_COLUMNS = ("time", "queue", "allocated_gpus", "demand_gpus")
"""Columns of ``queue_timeseries.csv``: a row per queue at each instant its figures changed;
``demand_gpus`` is what the queue's pending and running jobs ask for."""

QUEUE_COLUMNS = ("queue", "quota_gpus", "weight", "jobs", "avg_jct", "avg_queue_delay",
                 "gpu_hours", "demand_hours", "avg_allocated_gpus", "owed_gpu_hours", "share_met")
"""Columns of ``queues.csv``, one row per queue: ``demand_hours`` is how long the queue had
demand, ``avg_allocated_gpus`` its mean allocation meanwhile, ``owed_gpu_hours`` the GPU-hours its
guarantee entitled it to (min(quota, demand) over time) and ``share_met`` the part of those it
got (empty without a quota)."""


@dataclass(frozen=True)
class SimulationResult:
    """Summary figures, per-job and per-queue tables, and time series of the cluster and of
    each queue, for one run."""

    summary: dict[str, Any]
    jobs: pd.DataFrame
    timeseries: pd.DataFrame
    queue_series: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(QUEUE_SERIES_COLUMNS)))
    queues: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(QUEUE_COLUMNS)))
