"""From a finished simulation to the per-job table, the time series and the summary figures.

Definitions (seconds): JCT = end - submit; queueing delay = all time spent pending, before the
first start and after every preemption (Tiresias' definition; equal to start - submit when
nothing is preempted); bounded slowdown = max(1, JCT / max(run time, 10 s)); makespan = last
completion - first arrival; GPU allocation rate = time-averaged allocated GPUs / cluster GPUs
over that same span; fragmentation rate = time average, over the same span, of the share of
unallocated GPU capacity that the trace's typical tasks cannot use (FGD's measure); fairness =
Jain's index over users' (else queues') mean bounded slowdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from corral.model import MILLI, Node
from corral.sim.job_run import JobRun
from corral.sim.result import (
    JOB_COLUMNS,
    QUEUE_COLUMNS,
    QUEUE_SERIES_COLUMNS,
    TIMESERIES_COLUMNS,
)
from corral.sim.series_rows import SeriesRows

BOUNDED_SLOWDOWN_FLOOR_S = 10.0


def job_table(runs: list[JobRun], nodes: Sequence[Node]) -> pd.DataFrame:
    """One row per finished job, in submit order, with the columns of ``jobs.csv``.

    ``nodes`` and ``gpu_type`` describe the job's last placement (``;``-separated).
    """
    rows = []
    for r in runs:
        grants = r.placement.grants if r.placement else ()
        names = ";".join(nodes[g.node].name for g in grants)
        types = ";".join(sorted({nodes[g.node].gpu_type for g in grants}))
        rows.append((r.job.id, r.job.user, r.job.queue, r.job.tasks, r.job.gpu_milli / MILLI,
                     types, r.job.submit, r.first_start, r.end, r.end - r.job.submit,
                     r.queue_delay, r.run_time, r.overhead, r.preemptions, r.resizes,
                     r.migrations, names))
    return pd.DataFrame.from_records(rows, columns=list(JOB_COLUMNS))


def timeseries_table(rows: SeriesRows | list[tuple[float, float, int, int]]) -> pd.DataFrame:
    """The cluster over time: one row per instant at which allocation or queue lengths changed."""
    if isinstance(rows, SeriesRows):
        return rows.frame()
    return pd.DataFrame.from_records(rows, columns=list(TIMESERIES_COLUMNS))


def jain_fairness(jobs: pd.DataFrame, slowdown: np.ndarray) -> float:
    """Jain's index, (sum x)^2 / (n sum x^2), over each user's mean bounded slowdown (each
    queue's when the trace names no users): 1 when all are slowed alike, 1/n at worst."""
    groups = jobs["user"] if (jobs["user"] != "").any() else jobs["queue"]
    means = pd.Series(slowdown, index=jobs.index).groupby(groups.to_numpy()).mean().to_numpy()
    return float(means.sum() ** 2 / (len(means) * (means ** 2).sum())) if len(means) else 1.0


def summary_figures(jobs: pd.DataFrame, alloc_area: float, total_gpus: int,
                    frag_area: float = 0.0) -> dict[str, Any]:
    """JCT, queueing, slowdown, makespan, allocation, fragmentation and fairness figures of a
    run; *frag_area* is the time integral of the fragmented share of free GPU capacity."""
    if jobs.empty:
        keys = ("avg_jct", "p50_jct", "p95_jct", "p99_jct", "avg_queue_delay",
                "p95_queue_delay", "avg_bounded_slowdown", "makespan", "gpu_alloc_rate",
                "frag_rate")
        return {**dict.fromkeys(keys, 0.0), "jain_fairness": 1.0}
    jct = jobs["jct"].to_numpy(dtype=float)
    delay = jobs["queue_delay"].to_numpy(dtype=float)
    run = jobs["run_time"].to_numpy(dtype=float)
    slowdown = np.maximum(1.0, jct / np.maximum(run, BOUNDED_SLOWDOWN_FLOOR_S))
    makespan = float(jobs["end"].max() - jobs["submit"].min())
    p50, p95, p99 = (float(v) for v in np.percentile(jct, [50, 95, 99]))
    return {
        "avg_jct": float(jct.mean()),
        "p50_jct": p50,
        "p95_jct": p95,
        "p99_jct": p99,
        "avg_queue_delay": float(delay.mean()),
        "p95_queue_delay": float(np.percentile(delay, 95)),
        "avg_bounded_slowdown": float(slowdown.mean()),
        "makespan": makespan,
        "gpu_alloc_rate": alloc_area / (makespan * total_gpus) if makespan > 0 else 0.0,
        # Clipped: the running sum behind frag_area may drift by a rounding error.
        "frag_rate": min(1.0, max(0.0, frag_area / makespan)) if makespan > 0 else 0.0,
        "jain_fairness": jain_fairness(jobs, slowdown),
    }


def queue_series_table(rows: SeriesRows | list[tuple[float, str, float, float]]
                       ) -> pd.DataFrame:
    """Each queue over time: a row per queue at each instant its allocation or demand changed."""
    if isinstance(rows, SeriesRows):
        return rows.frame()
    return pd.DataFrame.from_records(rows, columns=list(QUEUE_SERIES_COLUMNS))


def queue_table(jobs: pd.DataFrame, series: pd.DataFrame,
                quotas: Mapping[str, tuple[float, float]], end: float) -> pd.DataFrame:
    """One row per queue (the columns of ``queues.csv``); *quotas* maps a queue to its
    (guaranteed GPUs, weight), *end* closes the last step of every queue's series.

    A queue is owed, at every instant, min(quota, demand) GPUs; ``share_met`` is the part of
    those GPU-hours it got (allocation up to what it was owed), so 1 means its guarantee was
    kept whenever it wanted it.
    """
    names = sorted(set(series["queue"]) | set(quotas))
    by_queue = dict(tuple(series.groupby("queue", sort=False)))
    jobs_of = dict(tuple(jobs.groupby("queue", sort=False)))
    empty_steps, empty_jobs = series.iloc[:0], jobs.iloc[:0]
    rows = []
    for name in names:
        steps = by_queue.get(name, empty_steps)
        times = steps["time"].to_numpy(dtype=float)
        span = np.diff(np.append(times, max(end, times[-1]) if times.size else end))
        alloc = steps["allocated_gpus"].to_numpy(dtype=float)
        demand = steps["demand_gpus"].to_numpy(dtype=float)
        wanting = demand > 0
        demand_time = float(span[wanting].sum())
        quota, weight = quotas.get(name, (float("nan"), 1.0))
        owed = share = float("nan")
        if quota > 0:
            due = np.minimum(quota, demand)
            owed = float((due * span).sum())
            share = float((np.minimum(alloc, due) * span).sum() / owed) if owed > 0 else share
        mine = jobs_of.get(name, empty_jobs)
        rows.append((name, quota, weight, len(mine),
                     float(mine["jct"].mean()) if len(mine) else float("nan"),
                     float(mine["queue_delay"].mean()) if len(mine) else float("nan"),
                     float((alloc * span).sum() / 3600.0), demand_time / 3600.0,
                     float((alloc[wanting] * span[wanting]).sum() / demand_time)
                     if demand_time > 0 else 0.0,
                     owed / 3600.0, share))
    return pd.DataFrame.from_records(rows, columns=list(QUEUE_COLUMNS))


def guarantees_met(queues: pd.DataFrame) -> float | None:
    """The part of all queues' owed guaranteed GPU-hours they got (None when no queue with a
    quota had demand): one figure for whether the guarantees were kept."""
    owed = queues["owed_gpu_hours"].to_numpy(dtype=float)
    met = queues["share_met"].to_numpy(dtype=float)
    valid = np.isfinite(owed) & np.isfinite(met) & (owed > 0)
    return float((owed[valid] * met[valid]).sum() / owed[valid].sum()) if valid.any() else None
