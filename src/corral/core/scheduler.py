"""The scheduling cycle: one core, fed a snapshot by any backend, returning decisions.

A cycle reads as a numbered recipe (as Kueue's ``schedule()`` does):

1. Walk pending jobs in the policy's order.
2. Skip shapes already known not to fit at this capacity (declared requeue: only freed
   capacity can make them fit, and freeing capacity bumps ``capacity_version``).
3. Admit: may the job be considered now (quota...)?
4. Filter all nodes at once, pick nodes by weighted scores, then Permit the whole gang.
5. If it fits, reserve it in the cycle's state and decide Start.
6. If not, ask Resize plugins to shrink or move running elastic jobs, then PostFilter plugins
   for victims; on success resize or preempt them and start the job.
7. In a blocking policy, stop at the first job left waiting.
8. If no job was left waiting for capacity, let Resize plugins grow jobs into what is idle.

The core never reads a clock: ``now`` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from corral.core.cluster_state import ClusterState
from corral.core.cycle_state import CycleState
from corral.core.decisions import Decision, Preempt, Start
from corral.core.framework import NodeLimit
from corral.core.gang_placement import assign_gpus, choose_nodes, feasible_tasks, permit
from corral.core.placement import Placement
from corral.core.profile import Profile
from corral.core.status import OK, Code, Status, unresolvable, unschedulable
from corral.model import MILLI, Job, Node, QueueTree


@dataclass(slots=True)
class CycleResult:
    """The decisions of one cycle and, for every job it looked at and left waiting, why."""

    decisions: list[Decision] = field(default_factory=list)
    waiting: dict[str, Status] = field(default_factory=dict)


STALE_FAILURES_KEPT = 4096
"""Remembered failures beyond this many are pruned of stale ones: a trace has a few hundred
shapes, but a live backend makes new ones (node sets change with its nodes) for weeks."""


class Scheduler:
    """Runs a :class:`Profile` over a :class:`ClusterState`."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._failed: dict[tuple, tuple[tuple[int, int], Status]] = {}
        """Job shape -> ((cluster serial, capacity version), why it did not fit then): jobs of
        one shape fit or fail alike, and only freed capacity can make a failure fit. (Whether
        preemption could help is asked again each cycle: victims depend on more than shape.)"""
        self._rank_of = tuple(getattr(p, "preemption_rank", None) for p in profile.post_filters)
        """Each PostFilter's ``preemption_rank``, or None where it declares none (no sharing)."""
        self._rekey_seconds: float | None = getattr(profile.queue_sort, "rekey_seconds", None)
        self._promote_after: float | None = getattr(profile.queue_sort, "promote_after_s", None)
        self._last_rekey: dict[int, float] = {}
        self._limiters = tuple(p for p in profile.permits if isinstance(p, NodeLimit))

    def new_state(self, nodes: list[Node] | tuple[Node, ...],
                  queues: QueueTree | None = None) -> ClusterState:
        """An empty cluster state whose pending queue follows this policy's order."""
        state = ClusterState(nodes, self.profile.queue_sort.sort_key, queues,
                             track_usage=self.profile.reads_queue_usage)
        state.promote_after = self._promote_after
        return state

    def cycle(self, cluster: ClusterState, now: float, *, assume: bool = False,
              max_starts: int | None = None) -> CycleResult:
        """Decide what starts (and what is preempted) now.

        By default *cluster* is left as it was found, and the backend applies each decision
        when it has carried it out (a bind may fail). With *assume* (kube-scheduler's assume
        step, for a backend that carries out every decision, like the simulator) the decisions
        are applied to *cluster* here, reusing the capacity the cycle already reserved.
        With *max_starts*, the walk ends once it has made that many decisions: the jobs after
        them are left for the next cycle, in the same order (a live backend binds the first
        ones while the next are decided, instead of waiting for thousands of decisions).
        """
        self._maybe_rekey(cluster, now)
        result = CycleResult()
        kept = False
        failed = self._failed
        stamp = (cluster.serial, cluster.capacity_version)
        blocking = self.profile.blocking
        preempting = bool(self.profile.post_filters or self.profile.resizers)
        admits = self.profile.admits
        rank_of = self._rank_of
        state = None
        # Placement failures found in this cycle: shape -> (why, found on top of reservations)
        found: dict[tuple, tuple[Status, bool]] = {}
        # (shape, preemption rank) whose victim search failed in this cycle: a job later in the
        # queue with the same shape and rank cannot find more victims.
        hopeless: set[tuple] = set()
        left_waiting: list[Job] = []
        try:
            for job in cluster.pending:
                shape = job.shape
                known = found.get(shape) if found else None
                status = known[0] if known is not None else None
                if status is None:
                    cached = failed.get(shape)
                    if cached is not None and cached[0] == stamp:
                        status = cached[1]
                rank = None
                if status is not None and preempting:
                    # Known not to fit, and a victim search for its kind already failed in this
                    # cycle: nothing admission could say would change that it waits.
                    rank = (shape, *(job.id if f is None else f(job) for f in rank_of))
                    if rank in hopeless:
                        rank = False
                if status is None or (preempting and rank is not False):
                    if state is None:
                        state = CycleState(cluster, now)
                        state.left_waiting = left_waiting
                    admitted = self._admit(state, job) if admits else OK
                    if not admitted.ok:
                        status = admitted
                    elif status is None:
                        placement, status = self._place(state, job)
                        if placement is not None:
                            state.reserve(job, placement)
                            result.decisions.append(Start(job.id, placement))
                            if max_starts is not None and len(result.decisions) >= max_starts:
                                break
                            continue
                        if not state.preempted:
                            found[shape] = (status, state.reserved)
                    # An Admit plugin answers UNSCHEDULABLE when preemption can make room
                    # (quota held by borrowers); WAIT when nothing but time can.
                    if preempting and status.code is Code.UNSCHEDULABLE and (
                            admitted.ok or admitted.code is Code.UNSCHEDULABLE):
                        if rank is None:
                            rank = (shape, *(job.id if f is None else f(job) for f in rank_of))
                        if rank not in hopeless:
                            placement = self._preempt_for(state, job, status, result)
                            if placement is not None:
                                state.reserve(job, placement)
                                result.decisions.append(Start(job.id, placement))
                                found.clear()  # capacity came back: earlier verdicts are stale
                                continue
                            hopeless.add(rank)
                result.waiting[job.id] = status
                if status.code is Code.UNSCHEDULABLE:
                    left_waiting.append(job)  # waits for capacity (not quota, not forever)
                if blocking:
                    break
            else:
                if self.profile.resizers and not left_waiting and cluster.running:
                    if state is None:
                        state = CycleState(cluster, now)
                    self._grow(state, result)
            if assume and state is not None:
                cluster.assume(result.decisions, now)
                kept = True
        finally:
            if state is not None and not kept:
                state.rollback()
        # A failure found on top of this cycle's reservations holds for the cluster only once
        # those reservations are really taken (assumed): a backend may yet fail to bind them.
        if found:
            stamp = (cluster.serial, cluster.capacity_version)
            if len(failed) > STALE_FAILURES_KEPT:
                for key in [k for k, (at, _) in failed.items() if at != stamp]:
                    del failed[key]
            for key, (status, on_reservations) in found.items():
                if kept or not on_reservations:
                    failed[key] = (stamp, status)
        return result

    def _maybe_rekey(self, cluster: ClusterState, now: float) -> None:
        """Re-key the pending order if the policy's order changes as jobs wait (the one change
        a cycle makes to the snapshot besides an assume: order, never capacity)."""
        if self._promote_after is not None:
            cluster.promote_waiting(now)
        every = self._rekey_seconds
        if every is not None and now - self._last_rekey.get(cluster.serial, -every) >= every:
            cluster.rekey(now)
            self._last_rekey[cluster.serial] = now

    def _admit(self, state: CycleState, job: Job) -> Status:
        for plugin in self.profile.admits:
            status = plugin.admit(state, job)
            if not status.ok:
                return status
        return OK

    def _place(self, state: CycleState, job: Job) -> tuple[Placement | None, Status]:
        """Filter, choose nodes, permit; the placement, or why there is none."""
        if not state.cluster.ever_fits(job):
            return None, unresolvable("GangPlacement",
                                      "does not fit this cluster even when it is empty")
        need = job.min_tasks * job.gpu_milli  # an elastic gang may start at its minimum
        if need > state.free_gpu_milli:
            return None, unschedulable(
                "GangPlacement", f"needs {need / MILLI:g} GPUs; {state.free_gpu_milli / MILLI:g} "
                "free in the whole cluster")
        limit = self._node_limit(state, job)
        if limit == 1 and job.gpu_milli >= MILLI:
            # The policy allows one node: a whole-GPU gang needs that many GPUs free on one.
            free = int(state.whole_free.max())
            if free // job.whole_gpus_per_task < job.min_tasks:
                return None, unschedulable(
                    "GangPlacement", f"needs {need / MILLI:g} GPUs on one node; at most {free} "
                    "free on any node")
        fit = feasible_tasks(self.profile, state, job)
        chosen = choose_nodes(self.profile, state, job, fit, limit)
        if isinstance(chosen, Status):
            return None, chosen
        status = permit(self.profile, state, job, chosen)
        if not status.ok:
            return None, status
        return assign_gpus(state, job, chosen), status

    def _node_limit(self, state: CycleState, job: Job) -> int | None:
        """The tightest cap a Permit plugin puts on the nodes *job*'s gang may span."""
        if job.tasks == 1 or not self._limiters:
            return None
        caps = [cap for p in self._limiters if (cap := p.node_limit(state, job)) is not None]
        return min(caps) if caps else None

    def _grow(self, state: CycleState, result: CycleResult) -> None:
        """Let Resize plugins grow running jobs into idle capacity (step 8)."""
        for plugin in self.profile.resizers:
            result.decisions.extend(plugin.grow(state, self._room))

    def _room(self, state: CycleState, job: Job) -> np.ndarray:
        """Tasks of *job* each node can host on *state*, by this policy's filters."""
        return feasible_tasks(self.profile, state, job)

    def _preempt_for(self, state: CycleState, job: Job, status: Status,
                     result: CycleResult) -> Placement | None:
        """Ask Resize plugins for shrinks and moves, then PostFilter plugins for victims; keep
        them only if the job then fits."""
        def fits(trial: CycleState) -> bool:
            return self._place(trial, job)[0] is not None

        for resizer in self.profile.resizers:
            changes = resizer.make_room(state, job, status, fits, self._room)
            if not changes:
                continue
            trial = state.clone()
            for change in changes:
                trial.resize(change.job_id, change.placement)
            placement, _ = self._place(trial, job)
            if placement is None:
                continue
            for change in changes:
                state.resize(change.job_id, change.placement)
            self._failed.clear()
            result.decisions.extend(changes)
            return placement

        for plugin in self.profile.post_filters:
            victims = plugin.post_filter(state, job, status, fits)
            if not victims:
                continue
            trial = state.clone()
            for victim in victims:
                trial.release(state.cluster.running[victim])
            placement, _ = self._place(trial, job)
            if placement is None:
                continue
            for victim in victims:
                state.release(state.cluster.running[victim])
            self._failed.clear()
            result.decisions.extend(
                Preempt(v, f"preempted by {plugin.name} for {job.id}") for v in victims)
            return placement
        return None
