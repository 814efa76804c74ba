"""The simulation backend: a virtual clock that feeds the core snapshots and applies decisions.

Per instant *t*: completions at *t* free their GPUs, arrivals at *t* join the queue, then one
scheduling cycle runs and its decisions are applied (preemptions first, then resizes and
migrations, then starts). Under a policy that resizes, a cycle runs at every change even with
nothing pending, so running elastic jobs can grow into the GPUs just freed. The core
is the same :class:`~corral.core.Scheduler` the live backend runs; the simulator only owns time
and the progress model.
"""

from __future__ import annotations

import dataclasses
import gc
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from corral.core import ClusterState, CycleResult, Preempt, Resize, Scheduler, Start
from corral.core.duration_estimate import DurationEstimate
from corral.core.fragmentation import TaskTypes
from corral.core.placement import Placement
from corral.model import MILLI, InvalidSpec, Job, Node, QueueTree
from corral.sim.config import SimConfig
from corral.sim.event_queue import EventQueue
from corral.sim.finished_jobs import FinishedJobs
from corral.sim.fragmentation_tracker import FragmentationTracker
from corral.sim.job_run import JobRun
from corral.sim.progress_model import ProgressModel
from corral.sim.result import QUEUE_SERIES_COLUMNS, TIMESERIES_COLUMNS
from corral.sim.series_rows import SeriesRows

if TYPE_CHECKING:
    from corral.predict.online import OnlinePredictor

Progress = Callable[[int, int], None]


class Simulator:
    """Replays *jobs* (sorted by submit, each with a duration) on *nodes* under *scheduler*;
    fragmentation is measured under *task_mix*'s task types (default: *jobs*').

    With *finished_record*, each job's row goes there as it finishes and its run is dropped
    (``runs`` stays empty): memory then holds only the jobs in flight, not every run."""

    def __init__(self, scheduler: Scheduler, nodes: Sequence[Node], jobs: Sequence[Job],
                 config: SimConfig | None = None, progress: Progress | None = None,
                 queues: QueueTree | None = None, task_mix: Sequence[Job] | None = None,
                 finished_record: FinishedJobs | None = None) -> None:
        self.scheduler = scheduler
        self.config = config or SimConfig()
        self.state: ClusterState = scheduler.new_state(list(nodes), queues)
        self.model = ProgressModel(self.config, self.state)
        self.events = EventQueue()
        self.progress = progress
        self.rejected: list[Job] = []
        self.unknown_queue: list[Job] = []
        """Jobs naming a queue the queue hierarchy lacks: skipped, with that reason."""
        self.unfinished: list[Job] = []
        self.runs: list[JobRun] = []
        self.finished_record = finished_record
        self.timeseries = SeriesRows(TIMESERIES_COLUMNS, "ddqq")
        self.queue_series = SeriesRows(QUEUE_SERIES_COLUMNS, "dsdd")
        """(time, queue, allocated GPUs, demanded GPUs) whenever a queue's figures change;
        demand is what its pending and running jobs ask for."""
        self._queue_use: dict[str, list[int]] = {}
        self._queue_dirty: set[str] = set()
        self.alloc_area = 0.0
        self.frag_area = 0.0
        """Time integral of fragmented / unallocated GPU capacity, under the trace's own mix of
        task types (FGD's measure, see :mod:`corral.core.fragmentation`)."""
        self.fragmentation = FragmentationTracker(self.state, TaskTypes.of_jobs(
            jobs if task_mix is None else task_mix))
        self.preemptions = 0
        self.resizes = 0
        self.migrations = 0
        self.resize_overhead = 0.0
        """Seconds of checkpoint/restart overhead that resizes and migrations cost, all jobs."""
        self._resizing = bool(scheduler.profile.resizers)
        self._oracle = scheduler.profile.oracle
        self.predictor = _predictor() if scheduler.profile.reads_estimates else None
        """Learns durations from the jobs that finished so far, for policies that read
        predicted run times."""
        if self.config.dataset_from:
            field = self.config.dataset_from
            jobs = [job if job.dataset else dataclasses.replace(job, dataset=getattr(job, field))
                    for job in jobs]
        if self.config.elastic_min_share < 1.0 or self.config.elastic_max_factor > 1.0:
            jobs = [job if job.is_elastic else marked_elastic(job, self.config)
                    for job in jobs]
        self._node_datasets: dict[int, list[str]] = {}
        """Datasets each node's data cache holds, least recently started first."""
        for dataset, shares in self.state.cached.items():
            for node in shares.nonzero()[0].tolist():
                self._node_datasets.setdefault(node, []).append(dataset)
        # Hide true durations from non-oracle policies once, before the clock starts.
        self._visible = list(jobs) if self._oracle else [job.without_duration() for job in jobs]
        self._jobs = list(jobs)
        self._next = self._done = 0
        """Index of the next arrival in ``_jobs``; jobs finished so far."""
        self._origin: float | None = None
        self._next_tick: float | None = None
        self._last: tuple[float | None, float, float] = (None, 0.0, 0.0)
        """(time, allocated GPUs, fragmented share) at the last instant processed."""
        self.queued_gpu_milli = 0
        """GPUs the pending jobs ask for: what a dispatcher reads as this cluster's backlog."""
        self.finished_run_s = 0.0
        self.finished_jobs = 0
        """Run time summed over finished jobs, and their number: a mean job length observed
        so far, for a dispatcher's wait estimate (durations stay hidden from it)."""
        self._by_id: dict[str, JobRun] = {}
        self._tenants: dict[tuple[int, int], list[str]] = {}

    def run(self) -> None:
        """Advance the clock until every job has finished."""
        self.run_until(float("inf"))
        self.unfinished = [self._by_id[job.id].job for job in self.state.pending]
        if self.progress:
            self.progress(self._done, len(self._jobs))

    def feed(self, job: Job) -> None:
        """Add *job* to the arrivals, after every job fed or given so far (its submit no
        earlier than theirs): how a dispatcher above several clusters hands one its work."""
        if self._jobs and job.submit < self._jobs[-1].submit:
            raise InvalidSpec(f"job {job.id}: fed out of submit order")
        if self.config.dataset_from and not job.dataset:
            job = dataclasses.replace(job, dataset=getattr(job, self.config.dataset_from))
        self._jobs.append(job)
        self._visible.append(job if self._oracle else job.without_duration())

    def next_instant(self) -> float:
        """The next time anything happens here (a completion or an arrival fed so far)."""
        t = self.events.peek()
        if self._next < len(self._jobs):
            t = min(t, self._jobs[self._next].submit)
        return t

    def run_until(self, until: float) -> None:
        """Process every instant before *until* (all of them for infinity).

        The cyclic garbage collector is paused meanwhile: the loop allocates hundreds of
        thousands of small objects that form no reference cycles, and repeated full-heap scans
        cost a fifth of the run. It is restored (and so collects anything left) afterwards.
        """
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._loop(until)
        finally:
            if was_enabled:
                gc.enable()

    def _loop(self, until: float) -> None:
        state, events, jobs = self.state, self.events, self._jobs
        cycle, tick = self.scheduler.cycle, self.scheduler.profile.tick_seconds
        n, i, done = len(jobs), self._next, self._done
        report_every = max(1, n // 200)
        last_t, last_alloc, last_frag = self._last
        fragmentation, capacity = self.fragmentation, state.total_gpu_milli
        if self._origin is None and n:
            self._origin = jobs[0].submit
        origin = self._origin or 0.0
        next_tick = self._next_tick if self._next_tick is not None else (
            origin if tick else float("inf"))
        heap, by_id, visible, arrive = events.heap, self._by_id, self._visible, self._arrive
        pending, running, series = state.pending, state.running, self.timeseries
        inf = float("inf")
        while i < n or heap:
            t = heap[0][0] if heap else inf
            if i < n and jobs[i].submit < t:
                t = jobs[i].submit
            if tick and next_tick <= t and (pending or running):
                t = next_tick
            if t >= until:
                break
            changed = False
            while heap and heap[0][0] <= t:
                job_id, token = events.pop()[2]
                run = by_id.get(job_id)
                if run is not None and run.token == token:
                    self._finish(run, t)
                    done += 1
                    changed = True
                    if self.progress and done % report_every == 0:
                        self.progress(done, n)
            while i < n and jobs[i].submit <= t:
                changed |= arrive(jobs[i], visible[i])
                visible[i] = jobs[i]  # drop the copy: the state keeps it while the job is in
                i += 1
            if tick and next_tick <= t:
                changed = True
                # Ticks sit at origin + k * tick: computed, not accumulated, so they neither
                # drift nor take a step per tick across a long idle gap.
                next_tick = origin + (math.floor((t - origin) / tick) + 1) * tick
                if next_tick <= t:
                    next_tick += tick
            if changed and (pending or self._resizing):
                result = cycle(state, t, assume=True, explain=False)
                if result.decisions:
                    self._apply(result, t)
            alloc = state.allocated_gpu_milli / MILLI
            if last_t is not None:
                self.alloc_area += last_alloc * (t - last_t)
                self.frag_area += last_frag * (t - last_t)
            free = capacity - state.allocated_gpu_milli
            last_t, last_alloc = t, alloc
            last_frag = fragmentation.total / free if free else 0.0
            row = (t, alloc, len(pending), len(running))
            if not series or series[-1][1:] != row[1:]:
                series.append(row)
            if self._queue_dirty:
                self._record_queues(t)
        self._next, self._done, self._next_tick = i, done, next_tick
        self._last = (last_t, last_alloc, last_frag)

    # -- arrivals and decisions ----------------------------------------------------------
    def _arrive(self, job: Job, visible: Job) -> bool:
        if not self.state.ever_fits(job):
            self.rejected.append(job)
            return False
        estimate = None
        if self.predictor is not None:
            predicted = self.predictor.predict(visible, job.submit)
            estimate = DurationEstimate(predicted.p50, predicted.p90)
        try:
            self.state.submit(visible, estimate=estimate)
        except InvalidSpec:
            self.unknown_queue.append(job)
            return False
        run = JobRun(job, float(job.duration or 0.0))
        self._by_id[job.id] = run
        if self.finished_record is not None:
            self.finished_record.arrived(job.id)
        else:
            self.runs.append(run)
        self.queued_gpu_milli += job.total_gpu_milli
        self._queue_change(job, 0, job.total_gpu_milli)
        return True

    def _apply(self, result: CycleResult, now: float) -> None:
        """Book the decisions the cycle already assumed: preemptions first, then starts."""
        by_id = self._by_id
        for decision in result.decisions:
            if isinstance(decision, Preempt):
                self._preempt(by_id[decision.job_id], now)
        for decision in result.decisions:
            if isinstance(decision, Resize):
                self._resize(by_id[decision.job_id], decision.placement, now)
        for decision in result.decisions:
            if isinstance(decision, Start):
                self._start(by_id[decision.job_id], decision.placement, now)

    def _start(self, run: JobRun, placement: Placement, now: float) -> None:
        run.queue_delay += now - run.pending_since
        if run.first_start < 0:
            run.first_start = now
        restore = self.config.preemption_overhead_s if run.preemptions else 0.0
        if run.job.dataset:
            restore += self._cold_cache(run.job, placement)
        run.segment_start = now
        run.restore_until = run.progress_from = now + restore
        self.queued_gpu_milli -= run.job.total_gpu_milli
        self._place(run, placement, now)

    def _place(self, run: JobRun, placement: Placement, now: float) -> None:
        """Run *run* on *placement* from *now* (its segment and overhead already set)."""
        run.placement = placement
        self._queue_change(run.job, placement.tasks * run.job.gpu_milli, 0)
        self.fragmentation.touch(placement)
        run.base_speed = self.model.base_speed(run.job, placement)
        if run.job.is_fractional:
            touched = self._share(run, placement, +1)
            self._set_speed(run, now)
            for other in touched:
                self._set_speed(other, now, scheduled=True)
        else:
            self._set_speed(run, now)

    def _resize(self, run: JobRun, placement: Placement, now: float) -> None:
        """An elastic job changes size, or a job moves: it checkpoints, then restarts on
        *placement*, paying ``resize_overhead_s`` or ``migration_overhead_s`` of no progress."""
        self._leave(run, now)
        if placement.tasks == run.placement.tasks:
            run.migrations += 1
            self.migrations += 1
            cost = self.config.migration_overhead_s
        else:
            run.resizes += 1
            self.resizes += 1
            cost = self.config.resize_overhead_s
        run.resize_overhead += cost
        self.resize_overhead += cost
        run.segment_start = now
        run.restore_until = run.progress_from = now + cost
        self._place(run, placement, now)

    def _leave(self, run: JobRun, now: float) -> None:
        """*run* stops on its placement at *now* (preempted or resized): progress booked, its
        GPUs and co-tenants released."""
        self.fragmentation.touch(run.placement)
        self._advance(run, now)
        self._close_segment(run, now)
        run.token += 1
        self._queue_change(run.job, -run.placement.tasks * run.job.gpu_milli, 0)
        if run.job.is_fractional:
            for other in self._share(run, run.placement, -1):
                self._set_speed(other, now, scheduled=True)

    def _finish(self, run: JobRun, now: float) -> None:
        placement = self.state.finish(run.job.id, now).placement
        self.fragmentation.touch(placement)
        self._close_segment(run, now)
        run.work_left = 0.0
        run.end = now
        self.finished_run_s += run.run_time
        self.finished_jobs += 1
        del self._by_id[run.job.id]
        if self.finished_record is not None:
            self.finished_record.finished(run)
        if self.predictor is not None:
            self.predictor.finish(run.job, now)
        self._queue_change(run.job, -placement.tasks * run.job.gpu_milli,
                           -run.job.total_gpu_milli)
        if run.job.is_fractional:
            for other in self._share(run, placement, -1):
                self._set_speed(other, now, scheduled=True)

    def _preempt(self, run: JobRun, now: float) -> None:
        self._leave(run, now)
        run.preemptions += 1
        run.pending_since = now
        self.preemptions += 1
        self.queued_gpu_milli += run.job.total_gpu_milli

    def _cold_cache(self, job: Job, placement: Placement) -> float:
        """Extra seconds of a cold first epoch on *placement* (0 where every node holds the
        dataset); the nodes then hold it, pushing out their least recent dataset if full."""
        config, state = self.config, self.state
        shares = state.cached.get(job.dataset)
        warm = min(shares[g.node] for g in placement.grants) if shares is not None else 0.0
        for grant in placement.grants:
            held = self._node_datasets.setdefault(grant.node, [])
            if job.dataset in held:
                held.remove(job.dataset)
            elif len(held) >= config.node_cache_datasets:
                state.set_cached(grant.node, held.pop(0), 0.0)
            held.append(job.dataset)
            state.set_cached(grant.node, job.dataset, 1.0)
        epoch = float(job.duration or 0.0) / config.job_epochs
        return config.cold_cache_slowdown * epoch * (1.0 - float(warm))

    # -- per-queue figures ---------------------------------------------------------------
    def _queue_change(self, job: Job, allocated: int, demand: int) -> None:
        use = self._queue_use.get(job.queue)
        if use is None:
            use = self._queue_use[job.queue] = [0, 0]
        use[0] += allocated
        use[1] += demand
        self._queue_dirty.add(job.queue)

    def _record_queues(self, now: float) -> None:
        """One row per queue whose figures changed at *now* (sorted, so runs are repeatable)."""
        for queue in sorted(self._queue_dirty):
            allocated, demand = self._queue_use[queue]
            self.queue_series.append((now, queue, allocated / MILLI, demand / MILLI))
        self._queue_dirty.clear()

    # -- progress ------------------------------------------------------------------------
    def _advance(self, run: JobRun, now: float) -> None:
        """Book progress made at the current speed up to *now*."""
        if now > run.progress_from:
            run.work_left = max(0.0, run.work_left - (now - run.progress_from) * run.speed)
            run.progress_from = now

    def _set_speed(self, run: JobRun, now: float, *, scheduled: bool = False) -> None:
        """(Re)compute *run*'s speed and (re)schedule its completion.

        *scheduled*: a completion is already booked, so if the speed is unchanged nothing is
        redone (re-deriving the end from the work left would only add rounding error).
        """
        co = self._co_tenants(run) if run.job.is_fractional else 0
        speed = self.model.with_sharing(run.base_speed, co)
        if scheduled and speed == run.speed:
            return
        self._advance(run, now)
        run.speed = speed
        run.token += 1
        end = run.progress_from + run.work_left / run.speed
        self.events.push(end, (run.job.id, run.token))

    def _close_segment(self, run: JobRun, now: float) -> None:
        """Split the time since the segment started into overhead and run time."""
        span = now - run.segment_start
        restore = min(span, run.restore_until - run.segment_start)
        run.overhead += restore
        run.run_time += span - restore

    # -- GPU sharing ---------------------------------------------------------------------
    def _share(self, run: JobRun, placement: Placement, sign: int) -> list[JobRun]:
        """Add (+1) or remove (-1) *run* as a tenant of its GPUs; return the co-tenants."""
        touched: dict[str, JobRun] = {}
        job_id = run.job.id
        for grant in placement.grants:
            for gpu in set(grant.gpus):
                key = (grant.node, gpu)
                tenants = self._tenants.setdefault(key, [])
                if sign > 0:
                    tenants.append(job_id)
                else:
                    tenants.remove(job_id)
                touched.update((t, self._by_id[t]) for t in tenants if t != job_id)
                if not tenants:
                    del self._tenants[key]
        return list(touched.values())

    def _co_tenants(self, run: JobRun) -> int:
        """Other jobs sharing any GPU with *run*."""
        others: set[str] = set()
        for grant in run.placement.grants:
            for gpu in set(grant.gpus):
                others.update(self._tenants.get((grant.node, gpu), ()))
        others.discard(run.job.id)
        return len(others)



def marked_elastic(job: Job, config: SimConfig) -> Job:
    """*job* with the size range the config gives traces that record none."""
    low = max(1, math.ceil(job.tasks * config.elastic_min_share))
    high = max(job.tasks, math.floor(job.tasks * config.elastic_max_factor))
    if low == job.tasks == high:
        return job
    return dataclasses.replace(job, min_tasks=low, max_tasks=high)


def _predictor() -> OnlinePredictor:
    """The duration predictor, imported only for policies that read estimates: it needs the
    predict extra (scikit-learn), which a plain install of Corral lacks."""
    from corral.predict.online import OnlinePredictor

    return OnlinePredictor()
