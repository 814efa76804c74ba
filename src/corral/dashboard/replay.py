"""A simulated run replayed on the wall clock: the cluster ``corral serve --demo`` shows.

The simulation runs once, ahead; the replay then reads, at each moment, which jobs had
arrived and not started (pending), which were running and where, and which had finished,
adding the finished ones to the history store as they pass so the usage and job pages fill
as a live cluster's would. The simulator keeps no reason per waiting job, so a pending job's
reason is worked out from the replayed state: its queue at quota, or too few free GPUs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from corral.dashboard.api_models import JobRow, NodeRow
from corral.dashboard.cluster_view import fill_gpus
from corral.model import Node

SIM_SECONDS_PER_SECOND = 600.0
"""Replay speed: ten simulated minutes per wall-clock second."""


class ReplayedCluster:
    """The run's per-job table replayed from *start* (simulated seconds) at *speed*."""

    def __init__(self, jobs: pd.DataFrame, nodes: Sequence[Node], quotas: Mapping[str, float],
                 *, start: float, speed: float = SIM_SECONDS_PER_SECOND,
                 clock: Callable[[], float] = time.monotonic,
                 on_finished: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self.table = jobs.sort_values("end", kind="stable").reset_index(drop=True)
        self.nodes_of = list(nodes)
        self.quotas = dict(quotas)
        self.start, self.speed, self.clock = start, speed, clock
        self.began = clock()
        self.end = float(self.table["end"].max()) if len(self.table) else 0.0
        self.on_finished = on_finished
        self.recorded = 0
        """How many of the table's rows (in end order) went to the history already."""

    def now(self) -> float:
        """The simulated time shown: it runs from *start* and wraps to it at the run's end."""
        span = max(self.end - self.start, 1.0)
        return self.start + ((self.clock() - self.began) * self.speed) % span

    def finished_rows(self, now: float) -> list[dict[str, Any]]:
        """History rows of the jobs that ended since the last call (each job once)."""
        ends = self.table["end"].to_numpy()
        upto = int(np.searchsorted(ends, now, side="right"))
        rows = []
        for job in self.table.iloc[self.recorded:upto].itertuples(index=False):
            rows.append({"source": "demo", "job_id": job.job_id, "attempt": 0,
                         "user": job.user or "", "name": job.job_id, "queue": job.queue,
                         "tasks": int(job.tasks),
                         "gpu_milli": round(float(job.gpus_per_task) * 1000),
                         "gpu_type": job.gpu_type, "submit": float(job.submit),
                         "start": float(job.start), "end": float(job.end),
                         "outcome": "completed"})
        self.recorded = max(self.recorded, upto)
        return rows

    def record_finished(self) -> float:
        """Hand the jobs finished by now to *on_finished*; return now."""
        now = self.now()
        if self.on_finished is not None:
            rows = self.finished_rows(now)
            if rows:
                self.on_finished(rows)
        return now

    def _tick(self) -> tuple[float, pd.DataFrame, pd.DataFrame]:
        now = self.record_finished()
        table = self.table
        arrived = table[(table["submit"] <= now) & (table["end"] > now)]
        running = arrived[arrived["start"] <= now]
        return now, arrived[arrived["start"] > now], running

    async def jobs(self) -> list[JobRow]:
        _, pending, running = self._tick()
        gpus = running["tasks"] * running["gpus_per_task"]
        held = gpus.groupby(running["queue"]).sum().to_dict()
        free = sum(node.gpus for node in self.nodes_of) - float(gpus.sum())
        rows = [_row(job, "running") for job in running.itertuples(index=False)]
        for job in pending.itertuples(index=False):
            need = job.tasks * job.gpus_per_task
            quota = self.quotas.get(job.queue)
            used = held.get(job.queue, 0.0)
            if quota is not None and used + need > quota and free < need:
                reason = (f"queue {job.queue} holds {used:g} of its {quota:g} GPU quota and "
                          f"only {free:g} GPUs are idle to borrow; needs {need:g}")
            elif free < need:
                reason = f"needs {need:g} GPUs, {free:g} free in the cluster"
            else:
                reason = (f"needs {need:g} GPUs as {job.tasks} x {job.gpus_per_task:g}: no "
                          "placement fits now (fragmented), or jobs ahead of it go first")
            rows.append(_row(job, "pending", reason))
        return rows

    async def nodes(self) -> list[NodeRow]:
        _, _, running = self._tick()
        held: dict[str, list[float]] = {}
        for job in running.itertuples(index=False):
            names = [n for n in str(job.nodes).split(";") if n]
            per_node = job.tasks * job.gpus_per_task / max(len(names), 1)
            for name in names:
                held.setdefault(name, []).append(per_node)
        return [fill_gpus(node.name, node.gpu_type, node.gpus, held.get(node.name, ()))
                for node in self.nodes_of]


def _row(job: Any, state: str, reason: str = "") -> JobRow:
    running = state == "running"
    return JobRow(id=job.job_id, project=job.queue, user=job.user or "", name=job.job_id,
                  state=state, gpus=float(job.tasks * job.gpus_per_task),
                  gpu_type=job.gpu_type, submit=float(job.submit),
                  start=float(job.start) if running else None, reason=reason,
                  nodes=[n for n in str(job.nodes).split(";") if n] if running else [])
