"""Placing a whole gang: filter all nodes at once, then pick nodes greedily by weighted score.

Each pick takes as many of the remaining tasks as the best node can hold, and scores are
recomputed for what is left, so a locality score (prefer nodes that hold more of the gang)
yields the fewest nodes and a best-fit score then puts the remainder on the tightest node:
Helios' "consolidate" placement falls out of the weights rather than being special-cased.
"""

from __future__ import annotations

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.placement import NodeGrant, Placement
from corral.core.profile import Profile
from corral.core.status import OK, Status, unschedulable
from corral.model import MILLI, Job

GANG = "GangPlacement"


def feasible_tasks(profile: Profile, state: CycleState, job: Job) -> np.ndarray:
    """Tasks of *job* each node can host now: the minimum over the profile's filters, at most
    ``job.max_tasks_per_node``, and none outside ``job.eligible_nodes``.

    Eligibility is applied here, by the core, rather than by a Filter plugin a policy lists:
    it is a fact about the job that its backend states (a Kubernetes kubelet refuses a pod on a
    node its selector does not match), not a placement choice a policy may weigh or leave out,
    so no policy file, bundled or written by a user, can forget it; and ``capacity_tasks``
    (whether a job can ever fit) must apply the same mask anyway. A job without the
    restriction pays one attribute test (the per-node cap likewise).
    """
    fit = None
    for plugin in profile.filters:
        part = plugin.filter(state, job)
        if part is not None:
            fit = part if fit is None else np.minimum(fit, part)
    if fit is None:
        fit = np.full(len(state.cluster.nodes), job.tasks, dtype=np.int64)
    if job.max_tasks_per_node is not None:
        fit = np.minimum(fit, job.max_tasks_per_node)
    if job.eligible_nodes is not None:
        fit = fit * state.cluster.node_mask(job.eligible_nodes)
    return fit


def weighted_scores(profile: Profile, state: CycleState, job: Job,
                    nodes: np.ndarray, fit: np.ndarray, remaining: int) -> np.ndarray | None:
    """The profile's weighted score sum over *nodes*, or None when every score is uniform."""
    total = None
    for plugin, weight in profile.scores:
        part = plugin.score(state, job, nodes, fit, remaining)
        if isinstance(part, float):
            continue
        if weight != 1.0:
            part = part * weight
        total = part if total is None else total + part
    return total


def choose_nodes(profile: Profile, state: CycleState, job: Job, fit: np.ndarray,
                 limit: int | None = None) -> list[tuple[int, int]] | Status:
    """``(node, tasks)`` pairs for as much of the gang as fits (all of it when it can) on at
    most *limit* nodes, or why not one task fits. Whether a partial gang is acceptable is for
    Permit plugins to say.
    """
    nodes = fit.nonzero()[0]
    if nodes.size == 0:
        return unschedulable(GANG, f"no node can host a task of {task_text(job)}")
    cand_fit = fit[nodes]
    remaining = job.tasks
    if job.tasks > 1:
        capped = np.minimum(cand_fit, job.tasks)
        reach = int(capped.sum()) if limit is None or limit >= len(capped) else \
            int(np.partition(capped, len(capped) - limit)[-limit:].sum())
        if job.min_tasks <= reach < job.tasks:
            remaining = reach  # an elastic gang: as many members as fit, placed by score
        elif reach < job.tasks:
            # Not even the best nodes make the whole gang: propose the largest ones, unscored,
            # just enough to hold it where the cap is what binds, and let the permits say no
            # (scoring nodes for a doomed gang is wasted work).
            order = np.argsort(-capped, kind="stable")
            enough = int(np.searchsorted(np.cumsum(capped[order]), job.tasks)) + 1
            order = order[:enough]
            return list(zip(nodes[order].tolist(), capped[order].tolist(), strict=True))
    chosen: list[tuple[int, int]] = []
    scores = profile.scores
    while True:
        total = None
        if len(nodes) > 1 and scores:
            total = weighted_scores(profile, state, job, nodes, cand_fit, remaining)
        valid = None
        if limit is not None and len(nodes) > 1:
            valid = completable(cand_fit, remaining, limit - len(chosen))
        elif chosen:
            valid = cand_fit > 0  # nodes already taken have no room left
        if total is None:
            best = int(valid.argmax()) if valid is not None else 0  # first that will do
        else:
            if valid is not None:
                total = np.where(valid, total, -np.inf)
            best = int(total.argmax())
        take = min(int(cand_fit[best]), remaining)
        chosen.append((int(nodes[best]), take))
        remaining -= take
        if not remaining or len(chosen) == limit:
            return chosen
        cand_fit[best] = 0  # cand_fit is our own copy (fancy indexing copied it)


def completable(fit: np.ndarray, remaining: int, budget: int) -> np.ndarray:
    """Nodes from which the *remaining* tasks can still be finished within *budget* nodes: the
    node's own share plus the best ``budget - 1`` others must reach *remaining*. Picking only
    such nodes keeps a score-led greedy search from spending its node budget on small nodes
    when a placement within the budget exists (the largest node always qualifies).
    """
    capped = np.minimum(fit, remaining)
    if budget <= 1:
        return capped >= remaining
    if budget > len(capped):
        return capped > 0
    top = np.sort(capped)[::-1]
    best_others = int(top[: budget - 1].sum())
    # A node among the best budget-1 cannot count itself: the next best stands in for it.
    others = np.where(capped >= top[budget - 2], best_others - capped + top[budget - 1],
                      best_others)
    return (capped > 0) & (capped + others >= remaining)


def permit(profile: Profile, state: CycleState, job: Job,
           chosen: list[tuple[int, int]]) -> Status:
    """Ask every Permit plugin about the proposed node set; the first rejection wins."""
    for plugin in profile.permits:
        status = plugin.permit(state, job, chosen)
        if not status.ok:
            return status
    return OK


def assign_gpus(state: CycleState, job: Job, chosen: list[tuple[int, int]]) -> Placement:
    """Name the GPUs on each chosen node: the first wholly free ones for whole-GPU tasks, the
    fullest GPU that still fits (best fit) for each fractional task, so shares pack together.
    """
    grants = []
    milli = job.gpu_milli
    for node, tasks in chosen:
        row = state.gpu_free[node]
        if milli >= MILLI:
            need = tasks * (milli // MILLI)
            picked = []
            for g, left in enumerate(row.tolist()):
                if left == MILLI:
                    picked.append(g)
                    if len(picked) == need:
                        break
            grants.append(NodeGrant(node, tasks, tuple(picked), MILLI))
        elif milli > 0:
            free = row.copy()
            picked = []
            for _ in range(tasks):
                room = np.where(free >= milli, free, MILLI + 1)
                g = int(np.argmin(room))
                free[g] -= milli
                picked.append(g)
            grants.append(NodeGrant(node, tasks, tuple(picked), milli))
        else:
            grants.append(NodeGrant(node, tasks, (), 0))
    return Placement(tuple(grants))


def gpus_left(rows: np.ndarray, job: Job, tasks: int | np.ndarray) -> np.ndarray:
    """Free milli-GPU per GPU of each row of *rows* (nodes x GPUs) once *tasks* of *job*'s
    tasks are placed on it, choosing the GPUs :func:`assign_gpus` would: vectorised over
    nodes, for scores that rate a placement by the state it leaves. Rows must have room.
    """
    milli = job.gpu_milli
    if milli >= MILLI:
        whole = rows == MILLI
        need = np.asarray(tasks * (milli // MILLI))
        taken = whole & (np.cumsum(whole, axis=1) <= need.reshape(-1, 1))
        return np.where(taken, 0, rows)
    left = rows.copy()
    if milli > 0:
        counts = np.broadcast_to(np.asarray(tasks), (len(rows),))
        index = np.arange(len(rows))
        for placed in range(int(counts.max(initial=0))):
            room = np.where(left >= milli, left, MILLI + 1)
            best = room.argmin(axis=1)
            left[index, best] -= np.where(counts > placed, milli, 0)
    return left


def task_text(job: Job) -> str:
    """A task's GPU request for messages: ``1 GPU``, ``0.25 GPU``."""
    return f"{job.gpu_milli / MILLI:g} GPU"
