"""QueuePreemption (PostFilter): take borrowed capacity back for a queue within its quota,
and let a job preempt lower-priority jobs of its own queue.

Kueue's ClusterQueue preemption policies ``reclaimWithinCohort: Any`` and ``withinClusterQueue:
LowerPriority``: a job that fits its leaf queue's guarantee may evict jobs that other queues run
on borrowed capacity (the part of a queue's GPUs above its guarantee: its most recently started,
lowest-priority jobs; when an ancestor's ceiling is what blocks the job, only borrowers under
that ancestor, enough to bring it back within), and any job may evict strictly lower-priority
jobs of its own leaf queue. Victims are whole gangs, never non-preemptible jobs, nor jobs
already preempted ``protect_after`` times (no livelock). Borrowed capacity is taken first (as
Kueue orders candidates), then the queue's own lower-priority jobs; within each, the cheapest
first: lowest priority, then fewest GPU-hours lost (:mod:`corral.plugins.victim_search`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from corral.core.cluster_state import RunningJob
from corral.core.cycle_state import CycleState
from corral.core.framework import PostFilter
from corral.core.status import Status
from corral.model import GPU, Job
from corral.plugins import names
from corral.plugins.queue_quota import gpu_excess, within_leaf_guarantee
from corral.plugins.victim_search import ProtectionArgs, fewest_victims, may_evict


class QueuePreemption:
    """Victims: borrowed gangs of other queues (when the job is within quota) and
    lower-priority gangs of the job's own queue."""

    name: ClassVar[str] = names.QUEUE_PREEMPTION
    extension_points: ClassVar[tuple[str, ...]] = ("post_filter",)
    reads_queue_usage: ClassVar[bool] = True
    Args = ProtectionArgs

    def __init__(self, args: ProtectionArgs | None = None) -> None:
        self.args = args or ProtectionArgs()

    def preemption_rank(self, job: Job) -> tuple[str, int]:
        """Victims depend on the job's queue and priority (and on its queue's usage, which only
        grows within a cycle, so a failed search stays failed for later jobs of that rank)."""
        return (job.queue, job.priority)

    def post_filter(self, state: CycleState, job: Job, status: Status,
                    fits: Callable[[CycleState], bool]) -> list[str]:
        """Victims (job ids) or [] when evicting every candidate would still not suffice."""
        cluster, usage, now = state.cluster, state.usage, state.now
        if usage is None:
            return []
        tree = cluster.queues
        leaf = usage.chain(job.queue)[0]
        reclaim = tree is not None and within_leaf_guarantee(usage, tree, job)
        # Ancestors whose ceiling the job would break: victims must free GPUs under them.
        excess = gpu_excess(usage, tree, job) if tree is not None else {}
        if excess is None:
            return []
        running, preempted, limit = cluster.running, state.preempted, self.args.protect_after

        def evictable(queue: str, below: float = float("inf")) -> list[RunningJob]:
            """The queue's running jobs of priority below *below* that may be evicted."""
            runs = (running.get(j) for j in usage.jobs.get(queue, ()))
            return [run for run in runs if run is not None and run.job.priority < below
                    and run.job.id not in preempted and may_evict(cluster, run.job, limit)]

        own = evictable(leaf, job.priority)
        borrowed: dict[str, list[RunningJob]] = {}
        if reclaim:
            for other in usage.jobs:
                if other == leaf or usage.of_queue(other).get(GPU, 0) <= \
                        tree.guarantee[other].get(GPU, 0):
                    continue  # not borrowing: nothing of it to reclaim
                chain = usage.chain(other)
                if all(q in chain for q in excess):
                    borrowed[other] = evictable(other)
        # Borrowed capacity first (taking it back costs the owner nothing of its own), then
        # the queue's own lower-priority work; within each, lowest priority, least work lost.
        cheapest = lambda run: (run.job.priority,  # noqa: E731
                                run.job.total_gpu_milli * (now - run.since), run.job.id)
        candidates = sorted(self._borrowed_part(state, borrowed), key=cheapest) \
            if borrowed else []
        candidates += sorted(own, key=cheapest)
        if not excess:
            return fewest_victims(state, candidates, fits, job.total_gpu_milli)
        need = max(excess.values())

        def fits_in_quota(trial: CycleState) -> bool:
            freed = sum(running[v].job.total_gpu_milli for v in trial.preempted
                        if v not in state.preempted)
            return freed >= need and fits(trial)

        return fewest_victims(state, candidates, fits_in_quota, job.total_gpu_milli)

    @staticmethod
    def _borrowed_part(state: CycleState,
                       by_queue: dict[str, list[RunningJob]]) -> list[RunningJob]:
        """Of each queue's running jobs, those that hold its GPUs above its guarantee: taken
        lowest priority and latest start first, while the queue is still above it."""
        tree, usage, now = state.cluster.queues, state.usage, state.now
        assert tree is not None and usage is not None
        out: list[RunningJob] = []
        for queue, runs in by_queue.items():
            excess = usage.of_queue(queue).get(GPU, 0) - tree.guarantee[queue].get(GPU, 0)
            runs.sort(key=lambda run: (run.job.priority, now - run.since, run.job.id))
            for run in runs:
                if excess <= 0:
                    break
                out.append(run)
                excess -= run.job.total_gpu_milli
        return out


_: PostFilter = QueuePreemption()
