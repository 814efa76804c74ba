"""The search every preemption plugin shares: the fewest running gangs that make room.

Candidates come in the plugin's order of preference (cheapest to evict first). Victims are
added in that order until the waiting job fits on a what-if copy of the cycle's state, then
any victim the job turns out not to need is handed back, smallest first. Gangs are evicted
whole: a candidate is a whole running job, never some of its tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from corral.core.cluster_state import ClusterState, RunningJob
from corral.core.cycle_state import CycleState
from corral.model import Job
from corral.plugins.arg_checks import whole


def fewest_victims(state: CycleState, candidates: Sequence[RunningJob],
                   fits: Callable[[CycleState], bool], need_gpu_milli: int = 0) -> list[str]:
    """Ids of the victims to evict, or [] when evicting every candidate would not suffice.

    Evicting every candidate is tried first, so a hopeless search costs one trial. Then one
    what-if copy serves the search: victims are released on it one by one (trials start once at
    least *need_gpu_milli* is free), and each victim is then taken back, smallest first, for
    good if the job still fits without it. Assumes more free capacity never makes a job fit
    less (true of every filter and permit plugin here).
    """
    if not candidates or state.free_gpu_milli + sum(
            run.job.total_gpu_milli for run in candidates) < need_gpu_milli:
        return []  # even evicting them all would not free enough GPUs
    trial = state.clone()
    for run in candidates:
        trial.release(run)
    if not fits(trial):
        # Even evicting them all would not make room (a gang that needs whole nodes, say):
        # one trial instead of one per candidate, where the search fails most often.
        return []
    trial = state.clone()
    chosen: list[RunningJob] = []
    for run in candidates:
        trial.release(run)
        chosen.append(run)
        if trial.free_gpu_milli >= need_gpu_milli and fits(trial):
            break
    else:
        return []
    for spare in sorted(chosen, key=lambda run: run.job.total_gpu_milli):
        if len(chosen) == 1:
            break
        trial.reserve(spare.job, spare.placement)
        trial.preempted.discard(spare.job.id)
        if fits(trial):
            chosen.remove(spare)
        else:
            trial.release(spare)
    return [run.job.id for run in chosen]


def may_evict(cluster: ClusterState, job: Job, protect_after: int | None) -> bool:
    """True unless *job* is non-preemptible or has already been preempted *protect_after*
    times (then it is left to finish: no job is preempted forever)."""
    return job.preemptible and (
        protect_after is None or cluster.preemptions.get(job.id, 0) < protect_after)


MAX_PROTECT_AFTER = 1_000_000
"""Most preemptions a job may be made to bear before it is left to finish."""


@dataclass(frozen=True, slots=True)
class ProtectionArgs:
    """``protect_after``: preemptions after which a job is left to finish (None: never), so
    that no job is preempted forever (no livelock)."""

    protect_after: int | None = 8

    def validate(self) -> None:
        """A positive count or absent."""
        whole("protect_after", self.protect_after, low=1, high=MAX_PROTECT_AFTER, optional=True)
