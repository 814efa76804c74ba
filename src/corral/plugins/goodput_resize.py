"""GoodputResize (Resize): give idle GPUs where they add the most speed-up, take them back
where they cost the least.

After Pollux (Qiao et al., OSDI'21 §4): re-allocate GPUs among elastic jobs to maximise the
sum of each job's speed-up over its requested size. Pollux's goodput also models statistical
efficiency (batch size against gradient noise); traces do not record it, so here goodput is
throughput, from the cluster's worker-scaling model (:mod:`corral.core.worker_scaling`).
Growth is greedy one member at a time to the job whose next member adds the most speed-up per
GPU, which with diminishing returns spreads idle GPUs over many jobs before any grows large;
shrinking starts with the members whose loss per freed GPU is smallest, down to each job's
minimum, and ignores the queue order (goodput decides, as in Pollux).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import ClassVar

from corral.core.cluster_state import RunningJob
from corral.core.cycle_state import CycleState
from corral.core.decisions import Resize
from corral.core.framework import Resizer, Room
from corral.core.status import Status
from corral.core.worker_scaling import WorkerScaling
from corral.model import MILLI, Job
from corral.plugins import names
from corral.plugins.resize_search import GoodputResizeArgs, grown, shrink_until_fits, untouched


def _gain(scaling: WorkerScaling, run: RunningJob, asked: int, start: int, end: int) -> float:
    """Speed-up (relative to the requested size) between *start* and *end* members, per GPU."""
    gpus = (end - start) * max(run.job.gpu_milli, 1) / MILLI
    return (scaling.speedup(end) - scaling.speedup(start)) / scaling.speedup(asked) / gpus


class GoodputResize:
    """Grows by the largest marginal speed-up per GPU; shrinks by the smallest loss."""

    name: ClassVar[str] = names.GOODPUT_RESIZE
    extension_points: ClassVar[tuple[str, ...]] = ("resize",)
    Args = GoodputResizeArgs

    def __init__(self, args: GoodputResizeArgs | None = None) -> None:
        self.args = args or GoodputResizeArgs()

    def make_room(self, state: CycleState, job: Job, status: Status,
                  fits: Callable[[CycleState], bool], room: Room) -> list[Resize]:
        """Every elastic job above its minimum, smallest speed-up lost per freed GPU first."""
        cluster = state.cluster
        scaling = cluster.scaling
        ranked = []
        for run in untouched(state):
            low = run.job.min_tasks
            if run.job.tasks > low:
                loss = _gain(scaling, run, cluster.jobs[run.job.id].tasks, low, run.job.tasks)
                ranked.append((loss, run.job.id, run))
        ranked.sort(key=lambda entry: entry[:2])
        steps = [(run, run.job.min_tasks) for _, _, run in ranked]
        return shrink_until_fits(state, steps, fits, job.min_tasks * job.gpu_milli)

    def grow(self, state: CycleState, room: Room) -> list[Resize]:
        """One member at a time to the job it speeds up most per GPU, while one fits."""
        cluster, ready = state.cluster, state.now - self.args.grow_after_s
        scaling = cluster.scaling
        heap = []
        for run in untouched(state):
            if run.job.tasks < run.job.max_tasks and run.since <= ready:
                asked = cluster.jobs[run.job.id].tasks
                gain = _gain(scaling, run, asked, run.job.tasks, run.job.tasks + 1)
                heap.append((-gain, run.job.id, asked))
        heapq.heapify(heap)
        changes: dict[str, Resize] = {}
        while heap:
            _, job_id, asked = heapq.heappop(heap)
            run = state.running(job_id)
            if state.free_gpu_milli < run.job.gpu_milli:
                continue
            placement = grown(state, run, run.job.tasks + 1, room, self.args.max_extra_nodes)
            if placement is None:
                continue
            run = state.resize(job_id, placement)
            changes[job_id] = Resize(job_id, placement)
            if run.job.tasks < run.job.max_tasks:
                gain = _gain(scaling, run, asked, run.job.tasks, run.job.tasks + 1)
                heapq.heappush(heap, (-gain, job_id, asked))
        return list(changes.values())


_: Resizer = GoodputResize()
