"""PriorityOrder (QueueSort): higher priority first, then first come first served.

Kubernetes' ``PrioritySort`` queue order, with the job's priority class as the key. Paired with
``PriorityPreemption`` it gives urgent work the GPUs of lower-priority gangs.
"""

from __future__ import annotations

from typing import ClassVar

from corral.core.cluster_state import ClusterState
from corral.core.framework import QueueSort
from corral.model import Job
from corral.plugins import names


class PriorityOrder:
    """Key = (-priority, submit time)."""

    name: ClassVar[str] = names.PRIORITY_ORDER
    extension_points: ClassVar[tuple[str, ...]] = ("queue_sort",)

    def sort_key(self, job: Job, cluster: ClusterState, now: float) -> tuple[int, float]:
        """Higher priority sorts first; ties by submit time."""
        return (-job.priority, job.submit)


_: QueueSort = PriorityOrder()
