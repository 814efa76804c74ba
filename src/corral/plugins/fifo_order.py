"""FifoOrder (QueueSort): first submitted, first served; ties keep arrival order."""

from __future__ import annotations

from typing import ClassVar

from corral.core.cluster_state import ClusterState
from corral.core.framework import QueueSort
from corral.model import Job
from corral.plugins import names


class FifoOrder:
    """Orders pending jobs by submit time, the baseline every trace study reports."""

    name: ClassVar[str] = names.FIFO_ORDER
    extension_points: ClassVar[tuple[str, ...]] = ("queue_sort",)

    def sort_key(self, job: Job, cluster: ClusterState, now: float) -> tuple[float]:
        """Submit time."""
        return (job.submit,)


_: QueueSort = FifoOrder()
