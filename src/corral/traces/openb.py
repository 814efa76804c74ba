"""Alibaba GPU cluster trace v2023 ("openb", FGD ATC'23): one row per pod.

Each pod is a one-task job (a pod runs on one node). A pod asking for one GPU with
``gpu_milli`` < 1000 takes that share of a single GPU; otherwise it takes ``num_gpu`` whole
GPUs. The run time is ``deletion_time - scheduled_time``; ``Pending`` pods with no
``scheduled_time`` never ran and are skipped as ``never_started`` (not an error).

``qos`` becomes the queue and sets the priority: the trace's own README ranks
LS > Burstable > BE, and Kubernetes ranks Guaranteed highest, so LS and Guaranteed get
:data:`HIGH`, Burstable :data:`MEDIUM`, BE and anything unknown :data:`LOW`.
"""

from __future__ import annotations

import numpy as np

from corral.model import MILLI
from corral.traces.csv_table import RowChecks
from corral.traces.job_columns import JobColumns, queues_or_default, skip_cpu_only
from corral.traces.trace_format import TraceFormat

FORMAT = TraceFormat(
    name="openb",
    description="Alibaba GPU cluster trace v2023 (openb, FGD ATC'23): pods, fractional GPUs",
    columns=(
        "name",
        "cpu_milli",
        "memory_mib",
        "num_gpu",
        "gpu_milli",
        "gpu_spec",
        "qos",
        "pod_phase",
        "creation_time",
        "deletion_time",
        "scheduled_time",
    ),
    cluster="openb",
    cluster_note="published: the trace's 1,213 GPU nodes",
)

HIGH, MEDIUM, LOW = 2, 1, 0
QOS_PRIORITY = {"LS": HIGH, "Guaranteed": HIGH, "Burstable": MEDIUM, "BE": LOW}
"""Priority of each Kubernetes QoS class found in the trace; other classes get :data:`LOW`."""


def to_jobs(rows: RowChecks, *, include_cpu_jobs: bool) -> JobColumns:
    """Submit at ``creation_time``, run from ``scheduled_time`` to ``deletion_time``."""
    rows.require("name", "missing_id")
    submit = rows.number("creation_time")
    end = rows.number("deletion_time")
    start = rows.number("scheduled_time", optional=True)
    cpu_milli = rows.count("cpu_milli", reason="bad_number")
    memory_mib = rows.count("memory_mib", reason="bad_number")
    gpus = rows.count("num_gpu")
    rows.too_many_gpus(gpus, "num_gpu")
    share = rows.count("gpu_milli")
    rows.drop(
        (gpus >= 1) & ((share < 1) | (share > MILLI)),
        "bad_gpu_request",
        "gpu_milli",
        lambda cell: f"{cell!r} is not a share of a GPU in 1..{MILLI}",
    )
    rows.drop(
        (gpus > 1) & (share < MILLI),
        "bad_gpu_request",
        "gpu_milli",
        lambda cell: f"{cell!r}: a share of a GPU cannot be asked for on several GPUs",
    )
    phase = rows.text("pod_phase")
    unscheduled = rows.blank("scheduled_time", among=np.isnan(start))
    pending = unscheduled & (phase == "Pending")
    rows.drop(pending, "never_started", "scheduled_time", "never scheduled", error=False)
    rows.drop(unscheduled, "missing_time", "scheduled_time", "empty, but the pod is not Pending")
    duration = end - start
    rows.drop(
        duration < 0,
        "negative_time",
        "deletion_time",
        lambda cell: f"{cell!r} is before scheduled_time",
    )
    rows.too_long(duration, "deletion_time")
    rows.drop_duplicates("name")
    skip_cpu_only(rows, gpus, "num_gpu", include_cpu_jobs)

    fractional = (gpus == 1) & (share < MILLI)
    qos = rows.text("qos")
    return JobColumns(
        ids=rows.text("name"),
        submit=submit,
        duration=duration,
        tasks=np.ones(rows.rows, dtype=np.int64),
        gpu_milli=np.where(fractional, share, gpus * MILLI),
        cpu_milli=cpu_milli,
        memory_mib=memory_mib,
        gpu_types=_gpu_types(rows.text("gpu_spec")),
        priority=np.array([QOS_PRIORITY.get(name, LOW) for name in qos], dtype=np.int64),
        queue=queues_or_default(qos),
        outcome=phase,
    )


def _gpu_types(specs: np.ndarray) -> list[tuple[str, ...]]:
    """``V100M16|V100M32`` -> ("V100M16", "V100M32"); an empty spec allows any model."""
    parsed: dict[str, tuple[str, ...]] = {}
    for spec in set(specs.tolist()):
        parsed[spec] = tuple(part.strip() for part in spec.split("|") if part.strip())
    return [parsed[spec] for spec in specs.tolist()]
