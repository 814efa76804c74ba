"""The scheduling cycle: one core, fed a snapshot by any backend, returning decisions.

A cycle reads as a numbered recipe (as Kueue's ``schedule()`` does):

1. Walk pending jobs in the policy's order (the heads of the queue's groups, merged).
2. Skip shapes already known not to fit at this capacity (declared requeue: only freed
   capacity can make them fit, and freeing capacity bumps ``capacity_version``).
3. Admit: may the job be considered now (quota...)?
4. Filter all nodes at once, pick nodes by weighted scores, then Permit the whole gang.
5. If it fits, reserve it in the cycle's state and decide Start.
6. If not, ask Resize plugins to shrink or move running elastic jobs, then PostFilter plugins
   for victims; on success resize or preempt them and start the job.
7. Leave the job waiting with its reason. A blocking policy stops here; otherwise, when
   the rest of the job's group cannot start in this cycle either, the walk passes over it.
8. If the walk went through and left no job waiting for capacity, let Resize plugins grow
   running jobs into what is idle.

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
from corral.core.pending_queue import GroupKey, PendingWalk, shape_group
from corral.core.placement import Placement
from corral.core.profile import Profile
from corral.core.status import OK, Code, Status, unresolvable, unschedulable
from corral.model import MILLI, Job, Node, QueueTree


@dataclass(slots=True)
class CycleResult:
    """The decisions of one cycle and, for every job it looked at and left waiting, why."""

    decisions: list[Decision] = field(default_factory=list)
    waiting: dict[str, Status] = field(default_factory=dict)


@dataclass(slots=True)
class _Walk:
    """One cycle's pass over the pending queue (Kueue's per-cycle entries): what it decided,
    what it learnt about shapes and victim searches, and the cycle's state once it needs one."""

    cluster: ClusterState
    now: float
    jobs: PendingWalk
    explain: bool
    result: CycleResult = field(default_factory=CycleResult)
    state: CycleState | None = None
    found: dict[tuple, tuple[Status, bool]] = field(default_factory=dict)
    """Placement failures found in this cycle: shape -> (why, found on top of reservations)."""
    hopeless: set[tuple] = field(default_factory=set)
    """Preemption ranks whose victim search failed in this cycle: a job later in the queue
    with the same rank cannot find more victims."""
    left_waiting: list[Job] = field(default_factory=list)
    stop: bool = False
    stamp: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.stamp = (self.cluster.serial, self.cluster.capacity_version)

    def open_state(self) -> CycleState:
        """The cycle's reservation state, made when the first job needs it."""
        if self.state is None:
            self.state = CycleState(self.cluster, self.now)
            self.state.left_waiting = self.left_waiting
        return self.state

    def start(self, job: Job, placement: Placement) -> None:
        """Step 5: reserve *placement* for the rest of the cycle and decide Start."""
        self.open_state().reserve(job, placement)
        self.result.decisions.append(Start(job.id, placement))

    def capacity_returned(self) -> None:
        """Victims were released: what this cycle found not to fit may fit now."""
        self.found.clear()
        self.jobs.revive()


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
        self._promote_at = getattr(profile.queue_sort, "promotes_at", None)
        """The order's ``promotes_at(job, cluster)``: when waiting next changes a job's key."""
        self._last_rekey: dict[int, float] = {}
        self._limiters = tuple(p for p in profile.permits if isinstance(p, NodeLimit))
        self._preempting = bool(profile.post_filters or profile.resizers)
        self._group: GroupKey = shape_group
        """How the pending queue groups jobs: by shape, and with preemption by the whole
        preemption rank where every PostFilter declares one (a failed victim search then holds
        for the rest of the group)."""
        if self._preempting and None not in self._rank_of:
            self._group = self._rank

    def new_state(self, nodes: list[Node] | tuple[Node, ...],
                  queues: QueueTree | None = None) -> ClusterState:
        """An empty cluster state whose pending queue follows this policy's order, its jobs
        grouped so that a cycle can pass over the rest of a group that cannot start."""
        state = ClusterState(nodes, self.profile.queue_sort.sort_key, queues,
                             track_usage=self.profile.reads_queue_usage, group=self._group)
        state.promote_at = self._promote_at
        state.key_holds_until = getattr(self.profile.queue_sort, "running_key_holds_until", None)
        return state

    def cycle(self, cluster: ClusterState, now: float, *, assume: bool = False,
              max_starts: int | None = None, explain: bool = True) -> CycleResult:
        """Decide what starts (and what is preempted) now.

        By default *cluster* is left as it was found, and the backend applies each decision
        when it has carried it out (a bind may fail). With *assume* (kube-scheduler's assume
        step, for a backend that carries out every decision, like the simulator) the decisions
        are applied to *cluster* here, reusing the capacity the cycle already reserved.
        With *max_starts*, the walk ends once it has made that many decisions: the jobs after
        them are left for the next cycle, in the same order (a live backend binds the first
        ones while the next are decided, instead of waiting for thousands of decisions).
        Without *explain*, the decisions are the same but ``waiting`` names only the jobs the
        cycle looked at: once a group of jobs is known not to start, the rest of it is passed
        over unvisited (a simulator reads no reasons, and its queue may hold 100,000 jobs).
        """
        self._maybe_rekey(cluster, now)
        walk = _Walk(cluster, now, cluster.pending.walk(),
                     explain or cluster.pending.group is not self._group)
        kept = False
        try:
            for job in walk.jobs:
                if self._decide(walk, job) and max_starts is not None \
                        and len(walk.result.decisions) >= max_starts:
                    break
                if walk.stop:
                    break
            else:
                self._grow(walk)
            if assume and walk.state is not None:
                cluster.assume(walk.result.decisions, now)
                kept = True
        finally:
            if walk.state is not None and not kept:
                walk.state.rollback()
        self._remember_failures(walk, kept)
        return walk.result

    # -- the steps of a cycle, one pending job at a time ----------------------------------
    def _decide(self, walk: _Walk, job: Job) -> bool:
        """Steps 2-7 for one job; True when it was started by placement (not preemption)."""
        shape = job.shape
        status = self._known_failure(walk, shape)
        rank = None
        if status is not None and self._preempting:
            # Known not to fit, and a victim search for its kind already failed in this
            # cycle: nothing admission could say would change that it waits.
            rank = self._rank(job)
            if rank in walk.hopeless:
                rank = False
        if status is None or (self._preempting and rank is not False):
            state = walk.open_state()
            admitted = self._admit(state, job) if self.profile.admits else OK
            if not admitted.ok:
                status = admitted
            elif status is None:
                placement, status = self._place(state, job)
                if placement is not None:
                    walk.start(job, placement)
                    return True
                if not state.preempted:
                    walk.found[shape] = (status, state.reserved)
            # An Admit plugin answers UNSCHEDULABLE when preemption can make room
            # (quota held by borrowers); WAIT when nothing but time can.
            if self._preempting and status.code is Code.UNSCHEDULABLE and (
                    admitted.ok or admitted.code is Code.UNSCHEDULABLE):
                if rank is None:
                    rank = self._rank(job)
                if rank not in walk.hopeless:
                    placement = self._preempt_for(state, job, status, walk.result)
                    if placement is not None:
                        walk.start(job, placement)
                        walk.capacity_returned()
                        return False
                    walk.hopeless.add(rank)
        self._leave_waiting(walk, job, status)
        return False

    def _known_failure(self, walk: _Walk, shape: tuple) -> Status | None:
        """Why *shape* does not fit, if this cycle or an earlier one at this capacity found
        out (declared requeue: only freed capacity makes it fit again)."""
        known = walk.found.get(shape) if walk.found else None
        if known is not None:
            return known[0]
        cached = self._failed.get(shape)
        if cached is not None and cached[0] == walk.stamp:
            return cached[1]
        return None

    def _rank(self, job: Job) -> tuple:
        """(shape, each PostFilter's preemption rank): jobs alike in it find the same victims."""
        return (job.shape, *(job.id if f is None else f(job) for f in self._rank_of))

    def _leave_waiting(self, walk: _Walk, job: Job, status: Status) -> None:
        """Step 7: record why *job* waits; stop a blocking policy; pass over the rest of the
        job's group when none of it can start in this cycle either."""
        walk.result.waiting[job.id] = status
        if status.code is Code.UNSCHEDULABLE:
            walk.left_waiting.append(job)  # waits for capacity (not quota, not forever)
        if self.profile.blocking:
            walk.stop = True
        elif not walk.explain and self._known_failure(walk, job.shape) is not None and (
                not self._preempting or (self._group is not shape_group
                                         and self._rank(job) in walk.hopeless)):
            walk.jobs.drop()

    def _remember_failures(self, walk: _Walk, kept: bool) -> None:
        """A failure found on top of this cycle's reservations holds for the cluster only once
        those reservations are really taken (assumed): a backend may yet fail to bind them."""
        found, failed = walk.found, self._failed
        if not found:
            return
        stamp = (walk.cluster.serial, walk.cluster.capacity_version)
        if len(failed) > STALE_FAILURES_KEPT:
            for key in [k for k, (at, _) in failed.items() if at != stamp]:
                del failed[key]
        for key, (status, on_reservations) in found.items():
            if kept or not on_reservations:
                failed[key] = (stamp, status)

    def _maybe_rekey(self, cluster: ClusterState, now: float) -> None:
        """Re-key the pending order if the policy's order changes as jobs wait (the one change
        a cycle makes to the snapshot besides an assume: order, never capacity)."""
        every = self._rekey_seconds
        if every is None:
            if self._promote_at is not None:
                cluster.promote_waiting(now)
        elif now - self._last_rekey.get(cluster.serial, -every) >= every:
            # An order that declares its promotions re-keys just those jobs, at the same times.
            if self._promote_at is not None and cluster.promote_at is self._promote_at:
                cluster.promote_waiting(now)
            else:
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

    def _grow(self, walk: _Walk) -> None:
        """Step 8: with no job left waiting for capacity, let Resize plugins grow running jobs
        into what is idle."""
        if not self.profile.resizers or walk.left_waiting or not walk.cluster.running:
            return
        state = walk.open_state()
        for plugin in self.profile.resizers:
            walk.result.decisions.extend(plugin.grow(state, self._room))

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
