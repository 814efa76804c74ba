"""The snapshot the core schedules on, kept up to date incrementally by a backend.

Split as Kueue splits its state: the capacity index (:class:`CapacityIndex`: nodes and free
capacity as numpy arrays), the pending queue (:class:`PendingQueue`, which owns the policy's
order) and the per-job records (:class:`JobRecords`); this class joins them with the running
jobs and queue usage. A backend (simulator or Kubernetes)
owns the state and changes it only through :meth:`ClusterState.submit`, :meth:`start`,
:meth:`finish`, :meth:`preempt` and :meth:`resize`; a scheduling cycle reads it and never writes it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corral.core.capacity_index import CapacityIndex
from corral.core.decisions import Decision, Preempt, Resize, Start
from corral.core.duration_estimate import DurationEstimate, remaining_after
from corral.core.job_records import JobRecords
from corral.core.pending_queue import GroupKey, PendingQueue, shape_group
from corral.core.placement import Placement
from corral.core.queue_usage import QueueUsage
from corral.core.waiting_demand import WaitingDemand
from corral.model import MILLI, InvalidSpec, Job, Node, QueueTree


@dataclass(slots=True)
class RunningJob:
    """A job that holds GPUs: its spec, where it runs and since when."""

    job: Job
    placement: Placement
    since: float


_SERIALS = itertools.count()

OrderKey = Callable[[Job, "ClusterState", float], Any]
"""A QueueSort plugin's ``sort_key(job, cluster, now)``."""


class ClusterState(CapacityIndex):
    """Nodes with their free GPUs (per GPU, in milli-GPU), CPU and memory; pending and running jobs.

    ``capacity_version`` grows whenever capacity is freed or added, and only then: a job shape
    that failed to fit at version *v* cannot fit while the version is still *v*, which lets the
    scheduler skip it without a placement search.
    """

    def __init__(self, nodes: Sequence[Node], order_key: OrderKey,
                 queues: QueueTree | None = None, *, track_usage: bool = True,
                 group: GroupKey = shape_group) -> None:
        super().__init__(nodes)
        self.allocated_gpu_milli = 0
        self.queues = queues
        """The queue hierarchy with quotas, or None: each queue a job names stands alone."""
        self.usage = QueueUsage(queues, self.gpu_types, self.node_type)
        """What each queue holds; kept up to date only with *track_usage* (always with queues:
        their quotas are checked against it)."""
        self._track_usage = track_usage or queues is not None
        self.records = JobRecords()
        """Per-job records; their dictionaries are also reachable by name on the state."""
        self.jobs = self.records.jobs
        self.pending_since = self.records.pending_since
        self.attained = self.records.attained
        self.last_run = self.records.last_run
        self.preemptions = self.records.preemptions
        self.estimates = self.records.estimates
        self.clock = 0.0
        """The time of the latest change a backend reported; pending-queue keys use it."""
        self.promote_at: Callable[[Job, ClusterState], float | None] | None = None
        """Set by the scheduler when its order changes a waiting job's key only by promoting it
        at a time known when it starts waiting (a starvation guard): waiting jobs are then also
        kept by that time, so :meth:`promote_waiting` re-keys only the jobs it promotes."""
        self.key_holds_until: Callable[[RunningJob, ClusterState, float], float] | None = None
        """Set by the scheduler when its order declares, for a running job, until when its key
        stays what it is at a given time (2D-LAS: the next threshold crossing): preemption
        then keeps its ranking of running jobs across cycles instead of re-keying them all."""
        self.running_version = 0
        """Grows whenever a job starts, finishes or is preempted (the running set changes)."""
        self._waits: list[tuple[float, float, str]] = []
        self._order_key = order_key
        self.pending = PendingQueue(lambda job: order_key(job, self, self.clock), group)
        self.waiting_demand = WaitingDemand()
        """With queues: the GPU sizes each leaf queue's waiting jobs ask (those that fit the
        empty cluster), so quota admission never walks the pending queue."""
        self.running: dict[str, RunningJob] = {}
        self.serial = next(_SERIALS)
        """Unique per state object for the life of the process (``id()`` can be reused)."""
        self.capacity_version = 0

    # -- reads ---------------------------------------------------------------------------
    @property
    def tracks_usage(self) -> bool:
        """True when :attr:`usage` is kept up to date."""
        return self._track_usage

    # -- changes (backends only) ---------------------------------------------------------
    def order_of(self, job: Job, now: float) -> Any:
        """The policy's queue key for *job* at *now*, pending or running (preemption compares
        a waiting job with running ones by it)."""
        return self._order_key(job, self, now)

    @property
    def order_key(self) -> OrderKey:
        """The policy's ``sort_key(job, cluster, now)`` itself, for callers that key many jobs."""
        return self._order_key

    def attained_service(self, job_id: str, now: float) -> float:
        """GPU-seconds *job_id* has received up to *now*, the current run segment included."""
        done = self.attained.get(job_id, 0.0)
        run = self.running.get(job_id)
        if run is not None and now > run.since:
            done += run.job.total_gpu_milli / MILLI * (now - run.since)
        return done

    def gpus_of(self, job: Job) -> float:
        """The gang's GPUs, as attained GPU-seconds are divided by (1 for CPU-only jobs)."""
        return job.total_gpu_milli / MILLI or 1.0

    def ran_seconds(self, job: Job, now: float) -> float:
        """Seconds *job* has run at reference speed up to *now*: its attained GPU-seconds over
        its GPUs. Written out, not composed of the two methods above, because preemptive
        orders ask it for every running job in every cycle."""
        job_id = job.id
        done = self.attained.get(job_id, 0.0)
        run = self.running.get(job_id)
        gpus = job.total_gpu_milli / MILLI
        if run is not None and now > run.since:
            done += gpus * (now - run.since)
        return done / (gpus or 1.0)

    def estimated_remaining(self, job: Job, now: float) -> float | None:
        """Predicted seconds *job* still has to run at *now*, revised from what it already ran
        (see :class:`DurationEstimate`); None without an estimate."""
        estimate = self.estimates.get(job.id)
        if estimate is None:
            return None
        return remaining_after(estimate.p50, estimate.p90, self.ran_seconds(job, now))

    def submit(self, job: Job, now: float | None = None,
               estimate: DurationEstimate | None = None) -> None:
        """A new job arrives and waits (at *now*, by default its submit time), with its
        predicted run time where the backend has one."""
        if job.id in self.jobs:
            raise InvalidSpec(f"job {job.id} was submitted twice")
        if self.queues is not None:
            try:
                self.usage.chain(job.queue)
            except InvalidSpec as exc:
                raise InvalidSpec(f"job {job.id}: {exc}") from None
        self.clock = job.submit if now is None else now
        self.jobs[job.id] = job
        self.pending_since[job.id] = self.clock
        if estimate is not None:
            self.estimates[job.id] = estimate
        self._enqueue(job)
        self._await_promotion(job)

    def start(self, job_id: str, placement: Placement, now: float) -> RunningJob:
        """Move a pending job onto *placement*, taking its capacity."""
        self.clock = now
        job = self._dequeue(job_id).with_tasks(placement.tasks)
        del self.pending_since[job_id]
        self._take(job, placement, -1)
        run = RunningJob(job, placement, now)
        self.running[job_id] = run
        self.running_version += 1
        return run

    def assume(self, decisions: Sequence[Decision], now: float) -> None:
        """Book a cycle's decisions whose capacity the cycle already took in place.

        Only :meth:`Scheduler.cycle` calls this (``assume=True``); it moves jobs between
        pending and running without touching the free-capacity arrays again.
        """
        self.clock = now
        for decision in decisions:
            if isinstance(decision, Preempt):
                run = self._requeue(decision.job_id, now)
                self.allocated_gpu_milli -= run.job.total_gpu_milli
                self.capacity_version += 1
        for decision in decisions:
            if isinstance(decision, Resize):
                old = self._resized(decision.job_id, decision.placement, now)
                self.allocated_gpu_milli += self.running[decision.job_id].job.total_gpu_milli \
                    - old.job.total_gpu_milli
                if old.job.total_gpu_milli > self.running[decision.job_id].job.total_gpu_milli:
                    self.capacity_version += 1
        for decision in decisions:
            if isinstance(decision, Start):
                job = self._dequeue(decision.job_id).with_tasks(decision.placement.tasks)
                del self.pending_since[job.id]
                self.running[job.id] = RunningJob(job, decision.placement, now)
                self.allocated_gpu_milli += job.total_gpu_milli
                self.running_version += 1

    def finish(self, job_id: str, now: float | None = None) -> RunningJob:
        """A running job ends; its capacity is freed and it is forgotten."""
        if now is not None:
            self.clock = now
        run = self.running.pop(job_id)
        self.running_version += 1
        self._take(run.job, run.placement, +1)
        self.records.forget(job_id)
        return run

    def preempt(self, job_id: str, now: float) -> RunningJob:
        """A running job is evicted whole at *now* and waits again."""
        self.clock = now
        run = self._requeue(job_id, now)
        self._take(run.job, run.placement, +1)
        return run

    def resize(self, job_id: str, placement: Placement, now: float) -> RunningJob:
        """A running elastic job now runs on *placement* (grown, shrunk or moved); returns its
        record from before."""
        self.clock = now
        old = self._resized(job_id, placement, now)
        self._take(old.job, old.placement, +1)
        self._take(self.running[job_id].job, placement, -1)
        return old

    def withdraw(self, job_id: str) -> Job:
        """A pending job is cancelled."""
        job = self._dequeue(job_id)
        self.records.forget(job_id)
        return job

    def rekey(self, now: float) -> None:
        """Recompute the pending order's keys at *now* (orders that change as jobs wait)."""
        self.clock = now
        self.pending.rekey()

    def promote_waiting(self, now: float) -> None:
        """Re-key the waiting jobs due for promotion (:attr:`promote_at`) by *now*."""
        self.clock = now
        waits = self._waits
        while waits and waits[0][0] <= now:
            _, since, job_id = heapq.heappop(waits)
            if self.pending_since.get(job_id) == since:
                self.pending.add(self.jobs[job_id])

    def _enqueue(self, job: Job) -> None:
        """*job* starts waiting: in the pending queue and, with queues, in its demand."""
        self.pending.add(job)
        if self.queues is not None and self.ever_fits(job):
            self.waiting_demand.add(self.usage.chain(job.queue)[0], job.total_gpu_milli)

    def _dequeue(self, job_id: str) -> Job:
        """*job_id* stops waiting (it starts or is withdrawn)."""
        job = self.pending.remove(job_id)
        if self.queues is not None and self.ever_fits(job):
            self.waiting_demand.remove(self.usage.chain(job.queue)[0], job.total_gpu_milli)
        return job

    def _resized(self, job_id: str, placement: Placement, now: float) -> RunningJob:
        """Book a new run segment on *placement*, crediting the one that ended at *now* to
        attained service (capacity is the caller's business); returns the old record."""
        old = self.running[job_id]
        self.records.served(old.job, old.since, now)
        self.running[job_id] = RunningJob(old.job.with_tasks(placement.tasks), placement, now)
        self.running_version += 1
        return old

    def _await_promotion(self, job: Job) -> None:
        """Note when the waiting *job* is due for promotion, if it ever is."""
        if self.promote_at is not None:
            due = self.promote_at(job, self)
            if due is not None:
                heapq.heappush(self._waits, (due, self.pending_since[job.id], job.id))

    def _requeue(self, job_id: str, now: float) -> RunningJob:
        """Move a preempted job back to pending, crediting the segment that ended at *now* to
        its attained service (capacity is the caller's business: given back, or assumed)."""
        run = self.running.pop(job_id)
        self.running_version += 1
        self.records.preempted(run.job, run.since, now)
        job = self.jobs[job_id]  # at its requested size, not the size it ran at
        self._enqueue(job)
        self._await_promotion(job)
        return run

    def _take(self, job: Job, placement: Placement, sign: int) -> None:
        """Give back (sign +1) or take (sign -1) the capacity *placement* names."""
        self.take(job, placement, sign)
        if self._track_usage:
            self.usage.apply(job, placement, -sign)
        self.allocated_gpu_milli -= sign * job.total_gpu_milli
        if sign > 0:
            self.capacity_version += 1

