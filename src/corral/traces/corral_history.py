"""Corral's own job history, exported with ``corral history export --format trace``.

A cluster's live history (written by ``corral scheduler``) replayed through ``corral
simulate`` / ``compare``: one row per job attempt, its submit time, its run time (end - start
of the attempt, as measured), its gang (``tasks`` x ``gpu_milli`` milli-GPUs, fractional shares
included) and its queue, user and outcome. ``gpu_type`` is the GPU model the attempt ran on,
kept for reference but not turned into a constraint: where it ran is the scheduler's choice.
Ids are ``job_id#attempt`` so attempts of one job stay distinct jobs.
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
    )
