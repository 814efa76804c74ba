"""PriorityPreemption (PostFilter): evict lower-priority gangs, whole, when nothing fits.

The Kubernetes ``DefaultPreemption`` idea at gang granularity: a victim gang is evicted whole
(never half), only jobs of strictly lower priority that are preemptible qualify, and victims
are taken lowest priority first, then most recently started first (least work lost), until the
job fits (:mod:`corral.plugins.victim_search`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from corral.core.cycle_state import CycleState
from corral.core.framework import PostFilter
from corral.core.status import Status
from corral.model import Job
from corral.plugins import names
from corral.plugins.victim_search import fewest_victims


class PriorityPreemption:
    """Finds a small set of lower-priority running gangs whose eviction lets *job* fit."""

    name: ClassVar[str] = names.PRIORITY_PREEMPTION
    extension_points: ClassVar[tuple[str, ...]] = ("post_filter",)

    def preemption_rank(self, job: Job) -> int:
        """Only priority decides which jobs may be victims."""
        return job.priority

    def post_filter(self, state: CycleState, job: Job, status: Status,
                    fits: Callable[[CycleState], bool]) -> list[str]:
        """Victims (job ids) or [] when evicting every candidate would still not suffice."""
        candidates = sorted(
            (run for run in state.cluster.running.values()
             if run.job.preemptible and run.job.priority < job.priority
             and run.job.id not in state.preempted),
            key=lambda run: (run.job.priority, -run.since),
        )
        return fewest_victims(state, candidates, fits, job.total_gpu_milli)

_: PostFilter = PriorityPreemption()
