"""One cycle's view of the cluster: the snapshot plus this cycle's reservations.

Plugins read free capacity here, never from the backend's :class:`ClusterState` directly.
Reservations are written in place on the snapshot's arrays with an undo log, and the cycle
rolls them back before it returns: no per-cycle copy of 10,000-node arrays, and a gang that
fails to place reserves nothing, so it leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from corral.core.capacity_index import apply_grants
from corral.core.cluster_state import ClusterState, RunningJob
from corral.core.placement import Placement
from corral.core.queue_usage import QueueUsage
from corral.model import Job

_Undo = tuple[Job, Placement, int]


class CycleState:
    """Free capacity as seen by this cycle, and a scratch store for plugins (k8s CycleState)."""

    __slots__ = ("_undo", "cluster", "cpu_free", "data", "free_gpu_milli", "gpu_free",
                 "left_waiting",
                 "mem_free", "now", "preempted", "resized", "usage", "version", "whole_free")

    def __init__(self, cluster: ClusterState, now: float) -> None:
        self.cluster = cluster
        self.now = now
        self.gpu_free: np.ndarray = cluster.gpu_free
        self.whole_free: np.ndarray = cluster.whole_free
        self.cpu_free: np.ndarray = cluster.cpu_free
        self.mem_free: np.ndarray = cluster.mem_free
        self.free_gpu_milli = cluster.total_gpu_milli - cluster.allocated_gpu_milli
        """Free GPU capacity of the whole cluster: a gang larger than this cannot fit anywhere."""
        self.usage: QueueUsage | None = cluster.usage if cluster.tracks_usage else None
        """What each queue holds, this cycle's reservations included (None where the policy
        reads no usage, and on what-if copies, which only answer "would it fit?")."""
        self.preempted: set[str] = set()
        """Running jobs this cycle released or resized: no plugin touches them again."""
        self.resized: dict[str, RunningJob] = {}
        """Running jobs this cycle resized, as they now run."""
        self.left_waiting: list[Job] = []
        """Jobs this cycle has left waiting for lack of capacity, in queue order (backfill reserves
        for the first); of a group the walk passes over, only the jobs it looked at."""
        self.data: dict[str, Any] = {}
        """Scratch for plugins, as in kube-scheduler's CycleState: a value one extension point
        computes once per cycle and another reads, keyed by ``point + plugin name``."""
        self._undo: list[_Undo] | None = []
        self.version = 0
        """Grows with every reservation and release: what a plugin derives from free capacity
        or queue usage in this cycle holds while it stays the same."""

    def clone(self) -> CycleState:
        """An independent copy for what-if questions (which victims would make a job fit?)."""
        other = CycleState(self.cluster, self.now)
        other.gpu_free = self.gpu_free.copy()
        other.whole_free = self.whole_free.copy()
        other.cpu_free = self.cpu_free.copy()
        other.mem_free = self.mem_free.copy()
        other.free_gpu_milli = self.free_gpu_milli
        other.usage = None
        other.preempted = set(self.preempted)
        other.resized = dict(self.resized)
        other.left_waiting = list(self.left_waiting)
        other._undo = None  # owns its arrays: nothing to roll back
        return other

    def reserve(self, job: Job, placement: Placement) -> None:
        """Hold *placement*'s capacity for the rest of this cycle (an elastic gang placed in
        part is booked at the size placed)."""
        if placement.tasks != job.tasks:
            job = job.with_tasks(placement.tasks)
        if self._undo is not None:
            self._undo.append((job, placement, -1))
        self.version += 1
        self.free_gpu_milli -= job.total_gpu_milli
        apply_grants(self.gpu_free, self.whole_free, self.cpu_free, self.mem_free,
                     job, placement, -1)
        if self.usage is not None:
            self.usage.apply(job, placement, +1)

    def release(self, run: RunningJob) -> None:
        """Pretend a running job is gone (a preemption victim) for the rest of this cycle."""
        if self._undo is not None:
            self._undo.append((run.job, run.placement, +1))
        self.version += 1
        self.free_gpu_milli += run.job.total_gpu_milli
        apply_grants(self.gpu_free, self.whole_free, self.cpu_free, self.mem_free,
                     run.job, run.placement, +1)
        if self.usage is not None:
            self.usage.apply(run.job, run.placement, -1)
        self.preempted.add(run.job.id)

    def running(self, job_id: str) -> RunningJob:
        """*job_id*'s running record as this cycle sees it (resized or not)."""
        return self.resized.get(job_id) or self.cluster.running[job_id]

    def resize(self, job_id: str, placement: Placement) -> RunningJob:
        """Move running job *job_id* to *placement* (grown, shrunk or moved) for the rest of
        this cycle: its current placement is released and the new one reserved."""
        run = self.running(job_id)
        self.release(run)
        resized = RunningJob(run.job.with_tasks(placement.tasks), placement, run.since)
        self.reserve(resized.job, placement)
        self.resized[job_id] = resized
        return resized

    def reservations(self) -> list[tuple[Job, Placement]]:
        """The placements this cycle has reserved so far, oldest first (empty on what-if
        copies): scores that rate who else will share a GPU read them beside the running jobs."""
        if not self._undo:
            return []
        return [(job, placement) for job, placement, sign in self._undo if sign < 0]

    @property
    def reserved(self) -> bool:
        """True once this cycle has reserved or released anything."""
        return bool(self._undo)

    def rollback(self) -> None:
        """Undo every reservation and release, newest first, restoring the snapshot exactly."""
        undo = self._undo
        if undo:
            for job, placement, sign in reversed(undo):
                self.free_gpu_milli -= sign * job.total_gpu_milli
                apply_grants(self.gpu_free, self.whole_free, self.cpu_free, self.mem_free,
                             job, placement, -sign)
                if self.usage is not None:
                    self.usage.apply(job, placement, sign)
            undo.clear()
