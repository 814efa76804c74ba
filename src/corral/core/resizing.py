"""A running gang's placement at another size or on other nodes, for Resize plugins.

Shrinking removes the newest members first (the last grants), as an elastic launcher such as
``torchrun`` re-forms its group from the workers that stay: the ranks that joined first keep
their GPUs. Growing adds members on the gang's own nodes first, then on the nodes with most
room, so a grown gang stays as consolidated as the free capacity allows.
"""

from __future__ import annotations

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.gang_placement import assign_gpus
from corral.core.placement import NodeGrant, Placement
from corral.model import Job


def without_newest(placement: Placement, tasks: int) -> Placement:
    """*placement* with only its first *tasks* members (1 <= tasks <= placement.tasks)."""
    drop = placement.tasks - tasks
    grants = list(placement.grants)
    while drop:
        last = grants[-1]
        if last.tasks <= drop:
            grants.pop()
            drop -= last.tasks
            continue
        keep = last.tasks - drop
        per_task = len(last.gpus) // last.tasks  # whole GPUs per task; 1 for a share; 0 CPU
        grants[-1] = NodeGrant(last.node, keep, last.gpus[: keep * per_task], last.milli)
        drop = 0
    return Placement(tuple(grants))


def with_more(state: CycleState, job: Job, placement: Placement, extra: int,
              room: np.ndarray, max_nodes: int | None = None) -> Placement | None:
    """*placement* plus *extra* members of *job* where *room* (tasks each node can host now)
    allows, on at most *max_nodes* nodes in all; None if they do not all fit."""
    own = [g.node for g in placement.grants]
    owned = set(own)
    chosen: list[tuple[int, int]] = []
    left = extra
    for node in own:
        take = min(int(room[node]), left)
        if take:
            chosen.append((node, take))
            left -= take
    if left:
        others = np.flatnonzero(room)
        others = others[np.argsort(-room[others], kind="stable")].tolist()
        budget = None if max_nodes is None else max_nodes - len(own)
        for node in others:
            if node in owned:
                continue
            if budget is not None and budget <= 0:
                break
            take = min(int(room[node]), left)
            chosen.append((node, take))
            left -= take
            if budget is not None:
                budget -= 1
            if not left:
                break
    if left:
        return None
    return merged(placement, assign_gpus(state, job, chosen))


def merged(placement: Placement, added: Placement) -> Placement:
    """The grants of both placements, one per node, *placement*'s members first."""
    grants = list(placement.grants)
    where = {g.node: i for i, g in enumerate(grants)}
    for grant in added.grants:
        at = where.get(grant.node)
        if at is None:
            where[grant.node] = len(grants)
            grants.append(grant)
        else:
            old = grants[at]
            grants[at] = NodeGrant(old.node, old.tasks + grant.tasks, old.gpus + grant.gpus,
                                   old.milli)
    return Placement(tuple(grants))


def single_node_move(state: CycleState, job: Job, room: np.ndarray,
                     avoid: np.ndarray) -> Placement | None:
    """*job*'s whole gang on one node outside *avoid* (a node mask), the fullest that holds it
    (best fit, so the move frees capacity without fragmenting another node); None if none."""
    fits = (room >= job.tasks) & ~avoid
    if not fits.any():
        return None
    candidates = np.flatnonzero(fits)
    free = state.whole_free[candidates] if job.gpu_milli else state.cpu_free[candidates]
    node = int(candidates[int(np.argmin(free))])
    return assign_gpus(state, job, [(node, job.tasks)])
