"""The searches the Resize plugins share: shrinking running gangs until a job fits, and
growing one gang into idle capacity.

Shrinks are tried on a what-if copy of the cycle's state in the plugin's order of preference
(cheapest first), each job from its current size straight to its target, until the waiting job
fits; none is proposed when all of them together would not make room. A job resized or
released earlier in the cycle is not touched again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from corral.core.cluster_state import RunningJob
from corral.core.cycle_state import CycleState
from corral.core.decisions import Resize
from corral.core.framework import Room
from corral.core.placement import Placement
from corral.core.resizing import with_more, without_newest
from corral.model.limits import MAX_NODES
from corral.plugins.arg_checks import MAX_SECONDS, number, whole


def shrink_until_fits(state: CycleState, steps: Sequence[tuple[RunningJob, int]],
                      fits: Callable[[CycleState], bool], need_gpu_milli: int) -> list[Resize]:
    """Shrinks (one per job, to the smallest size its steps name) that make the job fit, taken
    from *steps* (running job, target tasks) in order; [] when all of them would not do."""
    freeable = sum((run.job.tasks - tasks) * run.job.gpu_milli for run, tasks in steps)
    if not steps or state.free_gpu_milli + freeable < need_gpu_milli:
        return []
    trial = state.clone()
    changes: dict[str, Resize] = {}
    for run, tasks in steps:
        job_id = run.job.id
        if tasks >= trial.running(job_id).job.tasks:
            continue
        placement = without_newest(run.placement, tasks)
        trial.resize(job_id, placement)
        changes[job_id] = Resize(job_id, placement)
        if trial.free_gpu_milli >= need_gpu_milli and fits(trial):
            return list(changes.values())
    return []


def untouched(state: CycleState) -> list[RunningJob]:
    """Running elastic jobs this cycle has not resized or released."""
    preempted = state.preempted
    return [run for run in state.cluster.running.values()
            if run.job.is_elastic and run.job.id not in preempted]


def grown(state: CycleState, run: RunningJob, tasks: int, room: Room,
          max_extra_nodes: int | None) -> Placement | None:
    """*run*'s placement with members added up to *tasks* or, failing that, as many as fit
    within the node budget; None if not even one more does."""
    job = run.job
    fit = room(state, job.with_tasks(job.max_tasks))
    tasks = min(tasks, job.tasks + int(fit.sum()))
    while tasks > job.tasks:
        limit = None if max_extra_nodes is None else \
            state.cluster.min_nodes(job.with_tasks(tasks)) + max_extra_nodes
        placement = with_more(state, job, run.placement, tasks - job.tasks, fit, limit)
        if placement is not None:
            return placement
        tasks -= 1
    return None


@dataclass(frozen=True, slots=True)
class ResizeArgs:
    """``grow_after_s``: seconds a job runs at one size before it may grow (each resize costs
    a checkpoint and restart, so a job that just changed size is left to work);
    ``max_extra_nodes``: nodes a grown gang may use beyond the fewest it could (None: any)."""

    grow_after_s: float = 600.0
    max_extra_nodes: int | None = 0

    def validate(self) -> None:
        """Seconds from 0 to 10 years; nodes from 0 to the most a cluster has, or absent."""
        plugin = type(self).__name__.removesuffix("Args")
        number(f"{plugin}.grow_after_s", self.grow_after_s, low=0.0, high=MAX_SECONDS)
        whole(f"{plugin}.max_extra_nodes", self.max_extra_nodes, low=0, high=MAX_NODES,
              optional=True)


@dataclass(frozen=True, slots=True)
class ElasticResizeArgs(ResizeArgs):
    """:class:`ResizeArgs` of ElasticResize."""


@dataclass(frozen=True, slots=True)
class GoodputResizeArgs(ResizeArgs):
    """:class:`ResizeArgs` of GoodputResize."""
