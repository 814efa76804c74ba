"""DIR-LAB's re-processed traces (Helios and Philly excerpts): inter-arrival times, users, status.

Submit times are the running sum of ``interval`` in file order. A row whose interval cannot be
read adds nothing to that sum (and is dropped); a malformed line, whose fields are unknown, adds
nothing either. Rows dropped for other reasons still advance the clock, since those jobs did
arrive.

A job with ``node_num`` nodes becomes ``node_num`` tasks when its GPUs split evenly over them
(160 GPUs on 20 nodes: 20 tasks of 8), otherwise one task per GPU. ``cpu_num`` is the job's
total, shared evenly over the tasks and rounded up so no task gets less than its share.
``wall_time`` is 0 in every published row and is not read.
"""

from __future__ import annotations

import numpy as np

from corral.model import MILLI
from corral.model.limits import MAX_NODE_CPU_CORES, MAX_NODES
from corral.traces.csv_table import MAX_TIME_S, RowChecks
from corral.traces.job_columns import JobColumns, skip_cpu_only
from corral.traces.trace_format import TraceFormat

FORMAT = TraceFormat(
    name="helios",
    description="DIR-LAB re-processed Helios and Philly excerpts: inter-arrival times, users",
    columns=(
        "u_id",
        "user",
        "gpu_num",
        "cpu_num",
        "node_num",
        "interval",
        "run_time",
        "wall_time",
        "new_status",
    ),
    cluster=None,
    cluster_note="not published (the excerpts do not say which cluster); defaults to auto",
)

MAX_CPU_CORES = MAX_NODES * MAX_NODE_CPU_CORES
"""More cores than any cluster has (and few enough that milli-cores fit 64 bits)."""


def to_jobs(rows: RowChecks, *, include_cpu_jobs: bool) -> JobColumns:
    """Submit from the running sum of ``interval``, gangs split over ``node_num`` nodes."""
    rows.require("u_id", "missing_id")
    interval = rows.number("interval")
    duration = rows.number("run_time", duration=True)
    gpus = rows.count("gpu_num")
    rows.too_many_gpus(gpus, "gpu_num")
    nodes = rows.count("node_num")
    cpus = rows.count("cpu_num", reason="bad_number", maximum=MAX_CPU_CORES)
    rows.drop_duplicates("u_id")
    skip_cpu_only(rows, gpus, "gpu_num", include_cpu_jobs)

    submit = np.cumsum(np.where(np.isnan(interval), 0.0, interval))
    rows.drop(submit > MAX_TIME_S, "out_of_range", "interval",
              f"the intervals so far add up to more than {MAX_TIME_S:.0e} s, the latest time "
              "Corral reads")
    per_node = (nodes >= 1) & (gpus % np.maximum(nodes, 1) == 0)
    tasks = np.where(gpus == 0, 1, np.where(per_node, nodes, gpus))
    gpus_per_task = np.where(per_node, gpus // np.maximum(nodes, 1), 1)
    gpu_milli = np.where(gpus == 0, 0, gpus_per_task * MILLI)
    cpu_milli = -(-cpus * 1000 // tasks)
    return JobColumns(
        ids=rows.text("u_id"),
        submit=submit,
        duration=duration,
        tasks=tasks,
        gpu_milli=gpu_milli,
        cpu_milli=cpu_milli,
        user=rows.text("user"),
        outcome=rows.text("new_status"),
    )
