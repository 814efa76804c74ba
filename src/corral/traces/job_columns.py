"""Per-row job fields as parallel arrays, turned into sorted :class:`Job` objects at the end.

Formats fill whole columns with vectorised numpy work; only the final step touches one row at a
time, so reading the 82k-job Philly table stays well under a second.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from corral.model import DEFAULT_QUEUE, MILLI, InvalidSpec, Job
from corral.traces.csv_table import RowChecks
from corral.traces.errors import TraceError


@dataclass(frozen=True)
class JobColumns:
    """One entry per row of a :class:`RowChecks` table, in file order (dropped rows included).

    ``submit`` may have any origin; :func:`build_jobs` re-bases it. Optional columns left as
    None take the :class:`Job` defaults.
    """

    ids: Sequence[str]
    submit: np.ndarray
    duration: np.ndarray
    tasks: np.ndarray
    gpu_milli: np.ndarray
    cpu_milli: np.ndarray | None = None
    memory_mib: np.ndarray | None = None
    gpu_types: Sequence[tuple[str, ...]] | None = None
    priority: np.ndarray | None = None
    queue: Sequence[str] | None = None
    user: Sequence[str] | None = None
    outcome: Sequence[str] | None = None
    min_tasks: np.ndarray | None = None
    max_tasks: np.ndarray | None = None


def skip_cpu_only(rows: RowChecks, gpus: np.ndarray, column: str, include_cpu_jobs: bool) -> None:
    """Drop 0-GPU rows as ``no_gpu`` unless CPU-only jobs were asked for (not an error)."""
    if not include_cpu_jobs:
        rows.drop(gpus == 0, "no_gpu", column, "requests no GPU", error=False)


def whole_gpu_gangs(gpus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tasks, gpu_milli) for jobs that give only a GPU count: one task per GPU.

    Without node information one task per GPU leaves the packing to the scheduler's locality
    plugin; 0-GPU rows become one CPU-only task.
    """
    tasks = np.where(gpus > 0, gpus, 1)
    gpu_milli = np.where(gpus > 0, MILLI, 0)
    return tasks, gpu_milli


def queues_or_default(names: np.ndarray) -> np.ndarray:
    """Queue names, with :data:`DEFAULT_QUEUE` where the trace left the cell empty."""
    return np.where(names == "", DEFAULT_QUEUE, names)


def build_jobs(columns: JobColumns, rows: RowChecks, limit: int | None) -> list[Job]:
    """Jobs of the kept rows, sorted by submit (stable), the first ``limit``, re-based to 0.0."""
    kept = np.flatnonzero(rows.keep)
    order = kept[np.argsort(columns.submit[kept], kind="stable")]
    if limit is not None:
        order = order[:limit]
    submit = columns.submit[order]
    submit = submit - submit[0]
    fields = zip(
        _pick(columns.ids, order, None),
        submit.tolist(),
        _pick(columns.tasks, order, None),
        _pick(columns.gpu_milli, order, None),
        _pick(columns.cpu_milli, order, 0),
        _pick(columns.memory_mib, order, 0),
        _pick(columns.gpu_types, order, ()),
        _pick(columns.priority, order, 0),
        _pick(columns.queue, order, DEFAULT_QUEUE),
        _pick(columns.user, order, ""),
        _pick(columns.duration, order, None),
        _pick(columns.outcome, order, ""),
        _pick(columns.min_tasks, order, 0),
        _pick(columns.max_tasks, order, 0),
        strict=False,
    )
    collecting = gc.isenabled()
    gc.disable()  # the new jobs hold no cycles: collector passes over them are pure overhead
    try:
        return [
            Job(
                id=job_id,
                submit=at,
                tasks=tasks,
                gpu_milli=gpu_milli,
                cpu_milli=cpu_milli,
                memory_mib=memory_mib,
                gpu_types=gpu_types,
                priority=priority,
                queue=queue,
                user=user,
                duration=duration,
                outcome=outcome,
                min_tasks=min_tasks,
                max_tasks=max_tasks,
            )
            for (
                job_id,
                at,
                tasks,
                gpu_milli,
                cpu_milli,
                memory_mib,
                gpu_types,
                priority,
                queue,
                user,
                duration,
                outcome,
                min_tasks,
                max_tasks,
            ) in fields
        ]
    except InvalidSpec as exc:
        raise TraceError(f"{rows.source}: {exc}") from None
    finally:
        if collecting:
            gc.enable()


def _pick(values: Sequence[Any] | np.ndarray | None, order: np.ndarray, default: Any) -> Any:
    """The entries of ``values`` at ``order`` as Python objects, or ``default`` repeated."""
    if values is None:
        return repeat(default)
    if isinstance(values, np.ndarray):
        return values[order].tolist()
    return [values[i] for i in order.tolist()]
