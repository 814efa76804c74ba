"""Microsoft Philly (2017) per-job table from the Pollux OSDI'21 artifact.

The file has no job ids and is not sorted by time, so ids come from the data row number in the
file (``philly-000001`` is line 2) and rows that repeat each other stay separate jobs.
``gpu_time`` is ``duration x num_gpus`` in every row and is not read. Timestamps carry no time
zone and are read as naive wall-clock times, so the 2017-11-05 DST change shifts the seven
jobs of the repeated hour by up to an hour.
"""

from __future__ import annotations

from corral.traces.csv_table import RowChecks
from corral.traces.job_columns import (
    JobColumns,
    queues_or_default,
    skip_cpu_only,
    whole_gpu_gangs,
)
from corral.traces.trace_format import TraceFormat

FORMAT = TraceFormat(
    name="philly-pollux",
    description="Microsoft Philly 2017 jobs, per-job table from the Pollux OSDI'21 artifact",
    columns=("timestamp", "duration", "num_gpus", "gpu_time", "cluster"),
    cluster="philly",
    cluster_note="published: Philly's 552-server machine list",
)


def to_jobs(rows: RowChecks, *, include_cpu_jobs: bool) -> JobColumns:
    """Submit from ``timestamp``, one task per GPU, the VC (``cluster``) as the queue."""
    submit = rows.timestamp("timestamp", "%Y-%m-%d %H:%M:%S", "2017-10-09 06:13:03")
    duration = rows.number("duration", duration=True)
    gpus = rows.count("num_gpus")
    rows.too_many_gpus(gpus, "num_gpus")
    skip_cpu_only(rows, gpus, "num_gpus", include_cpu_jobs)
    tasks, gpu_milli = whole_gpu_gangs(gpus)
    return JobColumns(
        ids=[f"philly-{line - 1:06d}" for line in rows.lines.tolist()],
        submit=submit,
        duration=duration,
        tasks=tasks,
        gpu_milli=gpu_milli,
        queue=queues_or_default(rows.text("cluster")),
    )
