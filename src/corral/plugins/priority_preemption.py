"""PriorityPreemption (PostFilter): evict lower-priority gangs, whole, when nothing fits.

The Kubernetes ``DefaultPreemption`` idea at gang granularity: a victim gang is evicted whole
(never half), only jobs of strictly lower priority that are preemptible qualify, and victims
are taken lowest priority first, then most recently started first (least work lost), until the
job fits. Victims that turn out unnecessary are given back, smallest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from corral.core.cycle_state import CycleState
from corral.core.framework import PostFilter
from corral.core.status import Status
from corral.model import Job
from corral.plugins import names


class PriorityPreemption:
    """Finds a small set of lower-priority running gangs whose eviction lets *job* fit."""

    name: ClassVar[str] = names.PRIORITY_PREEMPTION
    extension_points: ClassVar[tuple[str, ...]] = ("post_filter",)

    def post_filter(self, state: CycleState, job: Job, status: Status,
                    fits: Callable[[CycleState], bool]) -> list[str]:
        """Victims (job ids) or [] when evicting every candidate would still not suffice."""
        running = state.cluster.running
        candidates = sorted(
            (run for run in running.values()
             if run.job.preemptible and run.job.priority < job.priority
             and run.job.id not in state.preempted),
            key=lambda run: (run.job.priority, -run.since),
        )
        if not candidates:
            return []
        trial = state.clone()
        victims: list[str] = []
        for run in candidates:
            trial.release(run)
            victims.append(run.job.id)
            if fits(trial):
                break
        else:
            return []
        for victim in sorted(victims, key=lambda v: running[v].job.total_gpu_milli):
            if len(victims) == 1:
                break
            trial = state.clone()
            rest = [v for v in victims if v != victim]
            for other in rest:
                trial.release(running[other])
            if fits(trial):
                victims = rest
        return victims


_: PostFilter = PriorityPreemption()
