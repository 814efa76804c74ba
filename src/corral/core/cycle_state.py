"""One cycle's view of the cluster: the snapshot plus this cycle's reservations.

Plugins read free capacity here, never from the backend's :class:`ClusterState`. The arrays are
copied lazily, on the first reservation, so a cycle that starts nothing copies nothing; a gang
that fails to place reserves nothing, so it leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from corral.core.cluster_state import ClusterState, RunningJob, apply_grants
from corral.core.placement import Placement
from corral.model import Job


class CycleState:
    """Free capacity as seen by this cycle, and a scratch store for plugins (k8s CycleState)."""

    __slots__ = ("_copied", "cluster", "cpu_free", "data", "gpu_free", "mem_free", "now",
                 "preempted", "whole_free")

    def __init__(self, cluster: ClusterState, now: float) -> None:
        self.cluster = cluster
        self.now = now
        self.gpu_free: np.ndarray = cluster.gpu_free
        self.whole_free: np.ndarray = cluster.whole_free
        self.cpu_free: np.ndarray = cluster.cpu_free
        self.mem_free: np.ndarray = cluster.mem_free
        self.preempted: set[str] = set()
        self.data: dict[str, Any] = {}
        self._copied = False

    def _own_arrays(self) -> None:
        if not self._copied:
            self.gpu_free = self.gpu_free.copy()
            self.whole_free = self.whole_free.copy()
            self.cpu_free = self.cpu_free.copy()
            self.mem_free = self.mem_free.copy()
            self._copied = True

    def clone(self) -> CycleState:
        """An independent copy for what-if questions (which victims would make a job fit?)."""
        other = CycleState(self.cluster, self.now)
        other.gpu_free = self.gpu_free.copy()
        other.whole_free = self.whole_free.copy()
        other.cpu_free = self.cpu_free.copy()
        other.mem_free = self.mem_free.copy()
        other.preempted = set(self.preempted)
        other._copied = True
        return other

    def reserve(self, job: Job, placement: Placement) -> None:
        """Hold *placement*'s capacity for the rest of this cycle."""
        self._own_arrays()
        apply_grants(self.gpu_free, self.whole_free, self.cpu_free, self.mem_free,
                     job, placement, -1)

    def release(self, run: RunningJob) -> None:
        """Pretend a running job is gone (a preemption victim) for the rest of this cycle."""
        self._own_arrays()
        apply_grants(self.gpu_free, self.whole_free, self.cpu_free, self.mem_free,
                     run.job, run.placement, +1)
        self.preempted.add(run.job.id)
