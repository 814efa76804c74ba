"""MigrationDefrag (Resize): move small jobs off nearly free nodes so that a waiting gang gets
whole nodes, instead of preempting anyone.

Gandiva (OSDI'18 §4.3) migrates jobs to defragment: a multi-GPU gang can wait with enough GPUs
free in the cluster, scattered over nodes that each hold a small job. When that is why a gang
waits, the nodes nearest to empty are cleared one at a time by moving each of their jobs,
whole and unchanged in size, to the fullest other node that holds it (best fit, so the move
fragments nothing else), until the gang fits. Only single-node jobs of at most
``max_job_gpus`` GPUs move (a move costs a checkpoint and restart; the simulator charges
``migration_overhead_s``), and at most ``max_nodes`` nodes are cleared for one gang.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.decisions import Resize
from corral.core.framework import Resizer, Room
from corral.core.resizing import single_node_move
from corral.core.status import Status
from corral.model import MILLI, Job
from corral.model.limits import MAX_JOB_GPUS, MAX_NODES
from corral.plugins import names
from corral.plugins.arg_checks import whole


@dataclass(frozen=True, slots=True)
class MigrationDefragArgs:
    """``max_job_gpus``: the largest job that is moved; ``max_nodes``: nodes cleared per gang."""

    max_job_gpus: int = 2
    max_nodes: int = 2

    def validate(self) -> None:
        """Counts from 1 up to the largest job and cluster."""
        whole("MigrationDefrag.max_job_gpus", self.max_job_gpus, low=1, high=MAX_JOB_GPUS)
        whole("MigrationDefrag.max_nodes", self.max_nodes, low=1, high=MAX_NODES)


class MigrationDefrag:
    """Clears the nodes nearest to empty by moving their small jobs elsewhere."""

    name: ClassVar[str] = names.MIGRATION_DEFRAG
    extension_points: ClassVar[tuple[str, ...]] = ("resize",)
    Args = MigrationDefragArgs

    def __init__(self, args: MigrationDefragArgs | None = None) -> None:
        self.args = args or MigrationDefragArgs()

    def make_room(self, state: CycleState, job: Job, status: Status,
                  fits: Callable[[CycleState], bool], room: Room) -> list[Resize]:
        """Moves that clear up to ``max_nodes`` nodes for a whole-GPU gang that the cluster's
        free GPUs could hold; [] when that is not why it waits or no moves make it fit."""
        need = job.min_tasks * job.gpu_milli
        if job.gpu_milli < MILLI or need <= MILLI or need > state.free_gpu_milli:
            return []
        cluster = state.cluster
        tenants: dict[int, list[str]] = {}
        for run in cluster.running.values():
            for grant in run.placement.grants:
                tenants.setdefault(grant.node, []).append(run.job.id)
        limit = self.args.max_job_gpus * MILLI
        busy = cluster.allowed_mask(job) & (state.whole_free < cluster.gpu_count)
        nodes = np.flatnonzero(busy)
        nodes = nodes[np.argsort(-state.whole_free[nodes], kind="stable")].tolist()
        trial = state.clone()
        avoid = np.zeros(len(cluster.nodes), dtype=bool)
        moves: dict[str, Resize] = {}
        cleared = 0
        for node in nodes:
            if cleared == self.args.max_nodes:
                break
            movable = [trial.running(job_id) for job_id in tenants.get(node, ())]
            if not movable or any(
                    run.job.id in state.preempted or len(run.placement.grants) > 1
                    or not run.job.preemptible or run.job.total_gpu_milli > limit
                    for run in movable):
                continue
            attempt = trial.clone()
            avoid[node] = True
            staged = []
            for run in movable:
                placement = single_node_move(attempt, run.job, room(attempt, run.job), avoid)
                if placement is None:
                    break
                attempt.resize(run.job.id, placement)
                staged.append(Resize(run.job.id, placement))
            else:
                trial = attempt
                cleared += 1
                moves.update((change.job_id, change) for change in staged)
                if fits(trial):
                    return list(moves.values())
                continue
            avoid[node] = False
        return []

    def grow(self, state: CycleState, room: Room) -> list[Resize]:
        """Nothing grows: migration only makes room."""
        return []


_: Resizer = MigrationDefrag()
