"""The snapshot the core schedules on, kept up to date incrementally by a backend.

Free capacity lives in numpy arrays over nodes (and over each node's GPUs) so that filters and
scores are vectorised instead of Python loops over nodes. A backend (simulator or Kubernetes)
owns the state and changes it only through :meth:`ClusterState.submit`, :meth:`start`,
:meth:`finish` and :meth:`preempt`; a scheduling cycle reads it and never writes it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from corral.core.decisions import Decision, Preempt, Resize, Start
from corral.core.duration_estimate import DurationEstimate, remaining_after
from corral.core.pending_queue import PendingQueue
from corral.core.placement import Placement
from corral.core.queue_usage import Amounts, QueueUsage
from corral.core.worker_scaling import WorkerScaling
from corral.model import CPU, GPU, GPU_OF_TYPE, MEMORY, MILLI, InvalidSpec, Job, Node, QueueTree


@dataclass(slots=True)
class RunningJob:
    """A job that holds GPUs: its spec, where it runs and since when."""

    job: Job
    placement: Placement
    since: float


_SERIALS = itertools.count()

OrderKey = Callable[[Job, "ClusterState", float], Any]
"""A QueueSort plugin's ``sort_key(job, cluster, now)``."""


class ClusterState:
    """Nodes with their free GPUs (per GPU, in milli-GPU), CPU and memory; pending and running jobs.

    ``capacity_version`` grows whenever capacity is freed or added, and only then: a job shape
    that failed to fit at version *v* cannot fit while the version is still *v*, which lets the
    scheduler skip it without a placement search.
    """

    def __init__(self, nodes: Sequence[Node], order_key: OrderKey,
                 queues: QueueTree | None = None, *, track_usage: bool = True) -> None:
        if not nodes:
            raise InvalidSpec("a cluster needs at least one node")
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            raise InvalidSpec("node names must be unique")
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.node_index = {name: i for i, name in enumerate(names)}
        self.gpu_types: tuple[str, ...] = tuple(sorted({n.gpu_type for n in nodes}))
        type_id = {t: i for i, t in enumerate(self.gpu_types)}
        self.node_type = np.array([type_id[n.gpu_type] for n in nodes], dtype=np.int32)
        self.gpu_count = np.array([n.gpus for n in nodes], dtype=np.int64)
        self.type_speed = np.ones(len(self.gpu_types))
        """Relative throughput of each GPU type (aligned with ``gpu_types``; 1.0 = reference)."""
        self.node_speed = np.ones(len(nodes))
        """Relative throughput of each node's GPUs; set both with :meth:`set_gpu_speeds`."""
        self.scaling = WorkerScaling()
        """Speed-up by worker count of elastic jobs; the backend sets the one it runs by."""
        width = max(1, int(self.gpu_count.max()))
        self.gpu_free = np.zeros((len(nodes), width), dtype=np.int64)
        for i, n in enumerate(nodes):
            self.gpu_free[i, : n.gpus] = MILLI
        self.whole_free = self.gpu_count.copy()
        self.cpu_capacity = np.array([n.cpu_milli for n in nodes], dtype=np.int64)
        self.mem_capacity = np.array([n.memory_mib for n in nodes], dtype=np.int64)
        self.cpu_free = self.cpu_capacity.copy()
        self.mem_free = self.mem_capacity.copy()
        self.total_gpu_milli = int(self.gpu_count.sum()) * MILLI
        self.max_node_gpu_milli = width * MILLI
        self.allocated_gpu_milli = 0
        self.capacity: Amounts = {GPU: self.total_gpu_milli, CPU: int(self.cpu_capacity.sum()),
                                  MEMORY: int(self.mem_capacity.sum())}
        """The whole cluster's resources, by the names queue quotas use."""
        for i, gpu_type in enumerate(self.gpu_types):
            self.capacity[GPU_OF_TYPE + gpu_type] = int(
                self.gpu_count[self.node_type == i].sum()) * MILLI
        self.queues = queues
        """The queue hierarchy with quotas, or None: each queue a job names stands alone."""
        self.usage = QueueUsage(queues, self.gpu_types, self.node_type)
        """What each queue holds; kept up to date only with *track_usage* (always with queues:
        their quotas are checked against it)."""
        self._track_usage = track_usage or queues is not None
        self.jobs: dict[str, Job] = {}
        self.clock = 0.0
        """The time of the latest change a backend reported; pending-queue keys use it."""
        self.attained: dict[str, float] = {}
        """GPU-seconds each job received in its finished run segments (before preemptions)."""
        self.last_run: dict[str, float] = {}
        """Length of each preempted job's last run segment (for starvation rules)."""
        self.pending_since: dict[str, float] = {}
        """When each pending job started waiting (its submit, or its last preemption)."""
        self.preemptions: dict[str, int] = {}
        """How often each job has been preempted so far."""
        self.promote_after: float | None = None
        """Set by the scheduler when its order changes a job's key once, after it has waited
        this long (a starvation guard): waiting jobs are then also kept by when they started
        waiting, so :meth:`promote_waiting` re-keys only the jobs it promotes."""
        self._waits: list[tuple[float, str]] = []
        self.estimates: dict[str, DurationEstimate] = {}
        """Predicted run times, for the jobs the backend predicted (policies that read
        estimates ask for them); see :meth:`estimated_remaining`."""
        self._order_key = order_key
        self.pending = PendingQueue(lambda job: order_key(job, self, self.clock))
        self.running: dict[str, RunningJob] = {}
        self.serial = next(_SERIALS)
        """Unique per state object for the life of the process (``id()`` can be reused)."""
        self.capacity_version = 0
        self._type_masks: dict[tuple[str, ...], np.ndarray] = {}
        self._node_masks: dict[frozenset[str], np.ndarray] = {}
        self._min_nodes: dict[tuple, int] = {}
        self.cached: dict[str, np.ndarray] = {}
        """Share of each dataset (0-1) each node's data cache holds, by dataset name; starts
        from ``Node.datasets`` and changes through :meth:`set_cached`."""
        for i, node in enumerate(nodes):
            for dataset, share in node.datasets.items():
                self.set_cached(i, dataset, share)

    # -- reads ---------------------------------------------------------------------------
    @property
    def tracks_usage(self) -> bool:
        """True when :attr:`usage` is kept up to date."""
        return self._track_usage

    def type_mask(self, gpu_types: tuple[str, ...]) -> np.ndarray:
        """Boolean mask of the nodes whose GPU type is one of *gpu_types* (all if empty)."""
        mask = self._type_masks.get(gpu_types)
        if mask is None:
            if gpu_types:
                wanted = [i for i, t in enumerate(self.gpu_types) if t in gpu_types]
                mask = np.isin(self.node_type, wanted)
            else:
                mask = np.ones(len(self.nodes), dtype=bool)
            mask.flags.writeable = False
            self._type_masks[gpu_types] = mask
        return mask

    def node_mask(self, names: frozenset[str]) -> np.ndarray:
        """Boolean mask of the nodes named in *names* (a job's ``eligible_nodes``); names of
        nodes this state does not hold are ignored."""
        mask = self._node_masks.get(names)
        if mask is None:
            mask = np.zeros(len(self.nodes), dtype=bool)
            index = self.node_index
            mask[[index[n] for n in names if n in index]] = True
            mask.flags.writeable = False
            self._node_masks[names] = mask
        return mask

    def allowed_mask(self, job: Job) -> np.ndarray:
        """Boolean mask of the nodes *job* may use at all: its GPU types and eligible nodes."""
        mask = self.type_mask(job.gpu_types)
        if job.eligible_nodes is not None:
            mask = mask & self.node_mask(job.eligible_nodes)
        return mask

    def capacity_tasks(self, job: Job) -> np.ndarray:
        """Tasks of *job* each node could host if it were empty (0 where it may not go)."""
        cap = job.max_tasks_per_node
        fit = np.where(self.allowed_mask(job), np.int64(1 << 40 if cap is None else cap), 0)
        if job.gpu_milli >= MILLI:
            fit = np.minimum(fit, self.gpu_count // job.whole_gpus_per_task)
        elif job.gpu_milli > 0:
            fit = np.minimum(fit, self.gpu_count * (MILLI // job.gpu_milli))
        for need, have in ((job.cpu_milli, self.cpu_capacity), (job.memory_mib, self.mem_capacity)):
            if need:
                fit = np.minimum(fit, have // need)
        return fit

    def min_nodes(self, job: Job) -> int:
        """The fewest nodes *job*'s gang could ever use here (0 if it can never fit); for an
        elastic gang too large for the cluster, the nodes that hold the most of it."""
        shape = job.shape
        cached = self._min_nodes.get(shape)
        if cached is None:
            per_node = np.sort(self.capacity_tasks(job))[::-1]
            reach = np.cumsum(np.minimum(per_node, job.tasks))
            hit = np.flatnonzero(reach >= job.tasks)
            if hit.size:
                cached = int(hit[0]) + 1
            else:
                cached = int(np.count_nonzero(per_node)) if reach[-1] >= job.min_tasks else 0
            self._min_nodes[shape] = cached
        return cached

    def ever_fits(self, job: Job) -> bool:
        """True if *job* (its minimum, when elastic) fits on this cluster when it is empty."""
        return self.min_nodes(job.with_tasks(job.min_tasks)) > 0

    # -- changes (backends only) ---------------------------------------------------------
    def set_gpu_speeds(self, speeds: Mapping[str, float]) -> None:
        """Set the relative throughput of each GPU type (types not listed: 1.0).

        The backend's speed table reaches the policies through the snapshot: the simulator
        passes the one its progress model uses, a live backend its profiles, and the core
        imports neither.
        """
        for gpu_type, speed in speeds.items():
            if isinstance(speed, bool) or not isinstance(speed, int | float) \
                    or not math.isfinite(speed) or speed <= 0:
                raise InvalidSpec(f"speed of GPU type {gpu_type!r} must be a finite number > 0, "
                                  f"got {speed!r}")
        self.type_speed = np.array([float(speeds.get(t, 1.0)) for t in self.gpu_types])
        self.node_speed = self.type_speed[self.node_type]
        self.type_speed.flags.writeable = False
        self.node_speed.flags.writeable = False

    def set_cached(self, node: int, dataset: str, share: float) -> None:
        """Node *node* now holds *share* (0-1) of *dataset* in its data cache."""
        shares = self.cached.get(dataset)
        if shares is None:
            shares = self.cached[dataset] = np.zeros(len(self.nodes))
        shares[node] = share

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
        if self.promote_after is not None:
            heapq.heappush(self._waits, (self.clock, job.id))
        self.pending.add(job)

    def start(self, job_id: str, placement: Placement, now: float) -> RunningJob:
        """Move a pending job onto *placement*, taking its capacity."""
        self.clock = now
        job = self.pending.remove(job_id).with_tasks(placement.tasks)
        del self.pending_since[job_id]
        self._take(job, placement, -1)
        run = RunningJob(job, placement, now)
        self.running[job_id] = run
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
                job = self.pending.remove(decision.job_id).with_tasks(decision.placement.tasks)
                del self.pending_since[job.id]
                self.running[job.id] = RunningJob(job, decision.placement, now)
                self.allocated_gpu_milli += job.total_gpu_milli

    def finish(self, job_id: str, now: float | None = None) -> RunningJob:
        """A running job ends; its capacity is freed and it is forgotten."""
        if now is not None:
            self.clock = now
        run = self.running.pop(job_id)
        self._take(run.job, run.placement, +1)
        self._forget(job_id)
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
        job = self.pending.remove(job_id)
        self.pending_since.pop(job_id, None)
        self._forget(job_id)
        return job

    def rekey(self, now: float) -> None:
        """Recompute the pending order's keys at *now* (orders that change as jobs wait)."""
        self.clock = now
        self.pending.rekey()

    def promote_waiting(self, now: float) -> None:
        """Re-key the waiting jobs that reached :attr:`promote_after` of waiting by *now*."""
        self.clock = now
        waits, after = self._waits, self.promote_after
        while waits and after is not None and waits[0][0] + after <= now:
            since, job_id = heapq.heappop(waits)
            if self.pending_since.get(job_id) == since:
                self.pending.add(self.jobs[job_id])

    def _resized(self, job_id: str, placement: Placement, now: float) -> RunningJob:
        """Book a new run segment on *placement*, crediting the one that ended at *now* to
        attained service (capacity is the caller's business); returns the old record."""
        old = self.running[job_id]
        span = max(0.0, now - old.since)
        self.attained[job_id] = self.attained.get(job_id, 0.0) + \
            old.job.total_gpu_milli / MILLI * span
        self.running[job_id] = RunningJob(old.job.with_tasks(placement.tasks), placement, now)
        return old

    def _requeue(self, job_id: str, now: float) -> RunningJob:
        """Move a preempted job back to pending, crediting the segment that ended at *now* to
        its attained service (capacity is the caller's business: given back, or assumed)."""
        run = self.running.pop(job_id)
        span = max(0.0, now - run.since)
        self.attained[job_id] = self.attained.get(job_id, 0.0) + \
            run.job.total_gpu_milli / MILLI * span
        self.last_run[job_id] = span
        self.pending_since[job_id] = now
        self.preemptions[job_id] = self.preemptions.get(job_id, 0) + 1
        if self.promote_after is not None:
            heapq.heappush(self._waits, (now, job_id))
        self.pending.add(self.jobs[job_id])  # at its requested size, not the size it ran at
        return run

    def _forget(self, job_id: str) -> None:
        """Drop everything kept about a job that has left for good."""
        del self.jobs[job_id]
        self.attained.pop(job_id, None)
        self.last_run.pop(job_id, None)
        self.preemptions.pop(job_id, None)
        self.estimates.pop(job_id, None)

    def _take(self, job: Job, placement: Placement, sign: int) -> None:
        """Give back (sign +1) or take (sign -1) the capacity *placement* names."""
        apply_grants(self.gpu_free, self.whole_free, self.cpu_free, self.mem_free,
                     job, placement, sign)
        if self._track_usage:
            self.usage.apply(job, placement, -sign)
        self.allocated_gpu_milli -= sign * job.total_gpu_milli
        if sign > 0:
            self.capacity_version += 1


def apply_grants(gpu_free: np.ndarray, whole_free: np.ndarray, cpu_free: np.ndarray,
                 mem_free: np.ndarray, job: Job, placement: Placement, sign: int) -> None:
    """Add (sign +1) or subtract (sign -1) a placement's grants on free-capacity arrays.

    Shared by the state and by a cycle's reservations so both account identically.
    """
    cpu, mem = job.cpu_milli, job.memory_mib
    for grant in placement.grants:
        node = grant.node
        if grant.gpus:
            row = gpu_free[node]
            delta = sign * grant.milli
            for gpu in grant.gpus:
                row[gpu] += delta
            if grant.milli >= MILLI:
                whole_free[node] += sign * len(grant.gpus)
            else:
                whole_free[node] = int(np.count_nonzero(row == MILLI))
        if cpu:
            cpu_free[node] += sign * grant.tasks * cpu
        if mem:
            mem_free[node] += sign * grant.tasks * mem

