"""ElasticResize (Resize): grow elastic gangs into idle GPUs in the policy's order, and shrink
them before anything is preempted.

Gandiva's grow-shrink (OSDI'18 §4.2) and AFS' observation (NSDI'21 §3) that idle GPUs are
best given to the jobs that will use them soonest: when no job waits for capacity, running
elastic jobs grow toward ``max_tasks`` in the queue's own order (least attained service
first under LAS), so the order that decides who starts also decides who speeds up. When a job
does not fit, GPUs are taken back first from jobs grown beyond the size they asked for (any
job: those GPUs were a loan of idle capacity), then from jobs the order ranks behind the
waiting one, down to their minimum; only then do PostFilter plugins preempt whole gangs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from corral.core.cycle_state import CycleState
from corral.core.decisions import Resize
from corral.core.framework import Resizer, Room
from corral.core.status import Status
from corral.model import Job
from corral.plugins import names
from corral.plugins.resize_search import ElasticResizeArgs, grown, shrink_until_fits, untouched


class ElasticResize:
    """Grows elastic jobs in queue order; shrinks loans first, then jobs behind in the order."""

    name: ClassVar[str] = names.ELASTIC_RESIZE
    extension_points: ClassVar[tuple[str, ...]] = ("resize",)
    Args = ElasticResizeArgs

    def __init__(self, args: ElasticResizeArgs | None = None) -> None:
        self.args = args or ElasticResizeArgs()

    def make_room(self, state: CycleState, job: Job, status: Status,
                  fits: Callable[[CycleState], bool], room: Room) -> list[Resize]:
        """Loans back (worst order first), then jobs behind *job* down to their minimum."""
        cluster, now = state.cluster, state.now
        mine = cluster.order_of(job, now)
        loans, behind = [], []
        for run in untouched(state):
            if run.job.tasks <= run.job.min_tasks:
                continue
            key = cluster.order_of(run.job, now)
            asked = cluster.jobs[run.job.id].tasks
            if run.job.tasks > asked:
                loans.append((key, run, asked))
            if key > mine:
                behind.append((key, run, run.job.min_tasks))
        loans.sort(key=lambda entry: entry[0], reverse=True)
        behind.sort(key=lambda entry: entry[0], reverse=True)
        steps = [(run, tasks) for _, run, tasks in loans + behind]
        return shrink_until_fits(state, steps, fits, job.min_tasks * job.gpu_milli)

    def grow(self, state: CycleState, room: Room) -> list[Resize]:
        """Each job that ran ``grow_after_s`` at its size grows as far toward its maximum as
        idle capacity allows, best order first."""
        cluster, now = state.cluster, state.now
        ready = now - self.args.grow_after_s
        runs = [run for run in untouched(state)
                if run.job.tasks < run.job.max_tasks and run.since <= ready]
        runs.sort(key=lambda run: cluster.order_of(run.job, now))
        changes = []
        for run in runs:
            if state.free_gpu_milli < run.job.gpu_milli:
                break
            placement = grown(state, run, run.job.max_tasks, room, self.args.max_extra_nodes)
            if placement is not None:
                state.resize(run.job.id, placement)
                changes.append(Resize(run.job.id, placement))
        return changes


_: Resizer = ElasticResize()
