"""Corral's own job history, exported with ``corral history export --format trace``.

A cluster's live history (written by ``corral scheduler``) replayed through ``corral
simulate`` / ``compare``: one row per job attempt, its submit time, its run time (end - start
of the attempt, as measured), its gang (``tasks`` x ``gpu_milli`` milli-GPUs, fractional shares
included) and its queue, user and outcome. ``gpu_type`` is the GPU model the attempt ran on,
kept for reference but not turned into a constraint: where it ran is the scheduler's choice.
Ids are ``job_id#attempt`` so attempts of one job stay distinct jobs.

Two optional columns make a job elastic: ``min_tasks`` (the smallest gang it may run with,
all-or-nothing) and ``max_tasks`` (the largest an elastic policy may grow it to); an empty
cell or 0 means ``tasks``. A row with ``min_tasks`` above ``tasks`` or ``max_tasks`` below it
is skipped as ``bad_gpu_request``.
"""

from __future__ import annotations

import numpy as np

from corral.model import MILLI
from corral.traces.csv_table import RowChecks
from corral.traces.job_columns import JobColumns, queues_or_default, skip_cpu_only
from corral.traces.trace_format import TraceFormat

FORMAT = TraceFormat(
    name="corral-history",
    description="Corral's live job history (corral history export --format trace)",
    columns=("job_id", "attempt", "submit", "duration", "tasks", "gpu_milli", "gpu_type",
             "queue", "user", "outcome"),
    cluster=None,
    cluster_note="not in the file (the cluster's own nodes); defaults to auto",
    optional_columns=("min_tasks", "max_tasks"),
)


def to_jobs(rows: RowChecks, *, include_cpu_jobs: bool) -> JobColumns:
    """Submit and duration as written; one gang of ``tasks`` x ``gpu_milli`` per row."""
    rows.require("job_id", "missing_id")
    submit = rows.number("submit")
    duration = rows.number("duration", duration=True)
    tasks = rows.count("tasks")
    gpu_milli = rows.count("gpu_milli")
    rows.too_many_gpus(tasks.astype(float) * gpu_milli / MILLI, "tasks")
    rows.drop(tasks == 0, "bad_gpu_request", "tasks", "a job has at least one task")
    rows.drop((gpu_milli > MILLI) & (gpu_milli % MILLI != 0), "bad_gpu_request", "gpu_milli",
              lambda cell: f"{cell} milli-GPUs per task: a share (< 1000) or whole GPUs")
    skip_cpu_only(rows, gpu_milli, "gpu_milli", include_cpu_jobs)
    low, high = (_range_column(rows, name) for name in ("min_tasks", "max_tasks"))
    if low is not None:
        rows.drop(low > np.maximum(tasks, 1), "bad_gpu_request", "min_tasks",
                  lambda cell: f"{cell} is more than the job's tasks")
    if high is not None:
        rows.drop((high > 0) & (high < tasks), "bad_gpu_request", "max_tasks",
                  lambda cell: f"{cell} is fewer than the job's tasks")
        rows.too_many_gpus(high.astype(float) * gpu_milli / MILLI, "max_tasks")
    ids = np.char.add(np.char.add(rows.text("job_id").astype(str), "#"),
                      rows.text("attempt").astype(str))
    return JobColumns(
        ids=ids.tolist(),
        submit=submit,
        duration=duration,
        tasks=np.maximum(tasks, 1),
        gpu_milli=gpu_milli,
        queue=queues_or_default(rows.text("queue")),
        user=rows.text("user"),
        outcome=rows.text("outcome"),
        min_tasks=low,
        max_tasks=high,
    )


def _range_column(rows: RowChecks, column: str) -> np.ndarray | None:
    """An optional size-range column as counts (empty cells 0: the job's ``tasks``), or None
    when the file has no such column."""
    if column not in rows.frame.columns:
        return None
    empty = rows.blank(column)
    rows.frame.loc[empty, column] = "0"
    return rows.count(column)
