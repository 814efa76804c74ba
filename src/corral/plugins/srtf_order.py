"""SrtfOrder (QueueSort, oracle): shortest remaining time first, from the true durations.

The lower bound every comparison shows (Tiresias §6 and the Helios SRTF baseline): it knows
what no deployable scheduler knows, each job's duration, and with preemption by queue order
(``OrderPreemption``) always runs the jobs closest to done. Remaining time is the duration less
the time already run (attained GPU-seconds over the gang's GPUs), at reference speed.
"""

from __future__ import annotations

from typing import ClassVar

from corral.core.cluster_state import ClusterState
from corral.core.framework import QueueSort
from corral.model import Job
from corral.plugins import names


class SrtfOrder:
    """Key = (remaining run time, submit time); only for policies declared ``oracle``."""

    name: ClassVar[str] = names.SRTF_ORDER
    extension_points: ClassVar[tuple[str, ...]] = ("queue_sort",)
    needs_oracle: ClassVar[bool] = True

    def sort_key(self, job: Job, cluster: ClusterState, now: float) -> tuple[float, float]:
        """Remaining seconds at reference speed, then submit time."""
        return ((job.duration or 0.0) - cluster.ran_seconds(job, now), job.submit)


_: QueueSort = SrtfOrder()
