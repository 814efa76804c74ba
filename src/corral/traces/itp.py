"""Microsoft ITP cluster traces (ElasticFlow, ASPLOS'23): one file per cluster.

The files end without a newline and hold only a GPU count per job, so jobs become one task per
GPU. A repeated ``job_id`` would make two jobs indistinguishable to the scheduler; later copies
are dropped as ``duplicate_id``.
"""

from __future__ import annotations

from corral.traces.csv_table import RowChecks
from corral.traces.job_columns import JobColumns, skip_cpu_only, whole_gpu_gangs
from corral.traces.trace_format import TraceFormat

FORMAT = TraceFormat(
    name="itp",
    description="Microsoft ITP 2021 cluster traces (ElasticFlow ASPLOS'23), one file per cluster",
    columns=("job_id", "submission_time", "duration", "num_gpu"),
    cluster=None,
    cluster_note="not published; defaults to auto",
)


def to_jobs(rows: RowChecks, *, include_cpu_jobs: bool) -> JobColumns:
    """Submit from ``submission_time``, one task per GPU."""
    rows.require("job_id", "missing_id")
    submit = rows.number("submission_time")
    duration = rows.number("duration", duration=True)
    gpus = rows.count("num_gpu")
    rows.too_many_gpus(gpus, "num_gpu")
    rows.drop_duplicates("job_id")
    skip_cpu_only(rows, gpus, "num_gpu", include_cpu_jobs)
    tasks, gpu_milli = whole_gpu_gangs(gpus)
    return JobColumns(
        ids=rows.text("job_id"),
        submit=submit,
        duration=duration,
        tasks=tasks,
        gpu_milli=gpu_milli,
    )
