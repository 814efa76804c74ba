"""The live scheduler: reflectors feed the cache, cycles run on changes and ticks, decisions go out.

One asyncio event loop runs everything, so the cache has a single writer:

1. reflectors list, then watch, Nodes, Pods, Queues and every served gang API;
2. nothing is scheduled before every reflector has listed once (a restarted scheduler first
   learns what is bound, so it never places onto capacity it has not seen);
3. a change wakes the loop, which waits a short *batch window* so a burst of events makes one
   cycle (and a tick makes one even without changes);
4. each cycle: sync the cache into the core state, undo gangs partly bound past their timeout,
   run :meth:`Scheduler.cycle`, then hand the decisions to the applier: evictions first; a Start
   that needs capacity a victim still holds waits for a later cycle (the victims must be gone
   first, or the node would be over-committed), and so does one that the Starts before it
   would make break a pod affinity or topology spread rule; every other Start is assumed in
   the cache and bound in the background while the next cycle already runs;
5. only the Lease holder runs step 4; standbys keep their cache warm for a fast take-over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from aiohttp import web

from corral.core import ClusterState, Preempt, Scheduler, Start
from corral.core.status import Code
from corral.k8s import conventions as names
from corral.k8s.applier import Applier
from corral.k8s.client import KubeClient, resource_path
from corral.k8s.cluster_cache import ClusterCache
from corral.k8s.events import EventRecorder, ObjectRef
from corral.k8s.leader import LeaderElector
from corral.k8s.metrics import SchedulerMetrics
from corral.k8s.nodes import TOLERATED_TAINTS
from corral.k8s.pod_conditions import PodConditionWriter
from corral.k8s.reflector import Reflector, served
from corral.k8s.secure_serving import SecureServing, check_exposure
from corral.k8s.unit_ids import UnitId
from corral.model import MILLI, ConfigError, Job, QueueTree

if TYPE_CHECKING:  # the predictor (scikit-learn) loads only for policies that read estimates,
    # the history store (SQLAlchemy) only when one is given
    from corral.history import HistoryStore
    from corral.k8s.history_writer import HistoryWriter
    from corral.k8s.live_estimates import HistoryEstimates

log = logging.getLogger(__name__)


@dataclass
class Options:
    """How the live scheduler runs (``corral scheduler`` options)."""

    scheduler_name: str = names.SCHEDULER_NAME
    batch_window_s: float = 0.05
    max_decisions_per_cycle: int | None = 128
    """A cycle stops deciding after this many decisions and the next one follows at once, so
    the first bindings go out while the rest are decided (None: no limit)."""
    tick_s: float = 5.0
    grace_seconds: int = 30
    concurrency: int = 128
    leader_elect: bool = True
    lease_namespace: str = "kube-system"
    lease_name: str = names.LEASE_NAME
    identity: str = ""
    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_s: float = 2.0
    queues: QueueTree | None = None
    tolerated_taints: tuple[str, ...] = tuple(sorted(TOLERATED_TAINTS))
    watch_timeout_s: int = 300
    gang_kinds: tuple[names.GangKind, ...] = field(default=names.GANG_KINDS)
    history: HistoryStore | Callable[[], HistoryStore] | None = None
    """The job-history store, or a function that opens it (then opened in the background,
    off the path to the first binding; a policy that reads estimates needs the store itself)."""
    history_source: str = "kubernetes"


@dataclass
class CycleStats:
    cycles: int = 0
    started: int = 0
    deferred: int = 0
    last_decisions: int = 0


class LiveScheduler:
    """Runs the core against an API server until cancelled."""

    def __init__(self, client: KubeClient, scheduler: Scheduler, options: Options | None = None,
                 *, clock: Callable[[], float] = time.time,
                 metrics: SchedulerMetrics | None = None) -> None:
        if scheduler.profile.resizers:
            # Resize decisions free GPUs the cycle then hands on; without an applier for them a
            # live cluster would bind onto GPUs still in use.
            raise ConfigError(f"policy {scheduler.profile.name} resizes running jobs, which the "
                              "Kubernetes backend does not apply yet; it runs in the simulator")
        self.client = client
        self.scheduler = scheduler
        self.options = options or Options()
        self.clock = clock
        self.metrics = metrics or SchedulerMetrics()
        self.cache = ClusterCache(scheduler, scheduler_name=self.options.scheduler_name,
                                  file_queues=self.options.queues,
                                  tolerated_taints=self.options.tolerated_taints, clock=clock)
        self.events = EventRecorder(client, drops=self.metrics.events_dropped)
        self.conditions = PodConditionWriter(client, self.cache.unbound_pod,
                                             is_leader=self.is_leader)
        self.elector: LeaderElector | None = None
        if self.options.leader_elect:
            self.elector = LeaderElector(
                client, self.options.identity or f"corral-{id(self):x}",
                namespace=self.options.lease_namespace, name=self.options.lease_name,
                lease_duration=self.options.lease_duration_s,
                renew_deadline=self.options.renew_deadline_s, retry=self.options.retry_s)
            client.write_fence = self.elector.allows_write  # every write, checked as it is sent
        self.applier = Applier(client, self.cache, self.events, self.metrics,
                               is_leader=self.is_leader, concurrency=self.options.concurrency,
                               grace_seconds=self.options.grace_seconds)
        self.events.urgent = lambda: self.applier.binding > 0
        self.history: HistoryWriter | None = None
        if self.options.history is not None:
            from corral.k8s.history_writer import HistoryWriter

            self.history = HistoryWriter(self.options.history, self.cache,
                                         source=self.options.history_source, clock=clock,
                                         drops=self.metrics.history_rows_dropped)
        self.estimates: HistoryEstimates | None = None
        if scheduler.profile.reads_estimates:
            if self.options.history is None:
                log.warning("policy %s reads predicted run times, which are learnt from the "
                            "job history, but no history store is set: jobs wait in submit "
                            "order", scheduler.profile.name)
            else:
                from corral.k8s.live_estimates import HistoryEstimates

                store = self.options.history
                if callable(store):
                    raise ConfigError(f"policy {scheduler.profile.name} reads predicted run "
                                      "times: give it an open history store")
                self.estimates = HistoryEstimates(store, clock=clock)
                self.cache.estimate = self.estimates.estimate
        self.reflectors: list[Reflector] = []
        self.stats = CycleStats()
        self.cycle_seconds: list[float] = []
        """Duration of every cycle run (the benchmark reads percentiles from it)."""
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._reported: dict[str, str] = {}
        self._overcommitted: set[str] = set()
        self.ready = asyncio.Event()
        """Set once every reflector has listed (the scheduler then knows what is bound)."""

    def is_leader(self) -> bool:
        return self.elector is None or self.elector.is_leader()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Discover, list and watch, elect, and schedule until cancelled."""
        if self.estimates is not None:
            await self.estimates.refresh_soon()
        self._add_core_reflectors()
        tasks = [asyncio.create_task(r.run(), name=f"reflector {r.name}")
                 for r in self.reflectors]
        # Discovery of the optional APIs goes on while the core collections are listed.
        core = len(self.reflectors)
        await self._add_served_reflectors()
        tasks += [asyncio.create_task(r.run(), name=f"reflector {r.name}")
                  for r in self.reflectors[core:]]
        tasks.append(asyncio.create_task(self.events.run(), name="events"))
        tasks.append(asyncio.create_task(self.conditions.run(), name="pod conditions"))
        if self.history is not None:
            tasks.append(asyncio.create_task(self.history.run(), name="history"))
        if self.estimates is not None:
            tasks.append(asyncio.create_task(self.estimates.run(), name="estimates"))
        if self.elector is not None:
            tasks.append(asyncio.create_task(self.elector.run(), name="leader"))
            tasks.append(asyncio.create_task(self._follow_leadership(), name="leadership"))
        if self.elector is None:
            self.metrics.leader.set(1)
        try:
            await asyncio.gather(*(r.synced.wait() for r in self.reflectors))
            self.ready.set()
            log.info("initial lists done: %d nodes, %d pods", len(self.cache.nodes),
                     len(self.cache.pods))
            await self._schedule_forever()
        finally:
            for task in [*tasks, *self._inflight]:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, *self._inflight, return_exceptions=True)

    async def _follow_leadership(self) -> None:
        assert self.elector is not None
        while True:
            await self.elector.changed.wait()
            self.elector.changed.clear()
            self.metrics.leader.set(1 if self.is_leader() else 0)
            self.wake()

    def _add_reflector(self, path: str, name: str,
                       on_replace: Callable[[list[dict[str, Any]]], None],
                       on_event: Callable[[str, dict[str, Any]], None]) -> None:
        self.reflectors.append(Reflector(
            self.client, path, name, on_replace=on_replace, on_event=on_event,
            on_change=self.wake, on_relist=lambda n: self.metrics.relists.labels(n).inc(),
            watch_timeout_s=self.options.watch_timeout_s))

    def _add_core_reflectors(self) -> None:
        cache, add = self.cache, self._add_reflector
        add(resource_path("", "v1", "nodes"), "nodes", cache.replace_nodes, cache.node_event)
        add(resource_path("", "v1", "pods"), "pods", cache.replace_pods, cache.pod_event)
        add(resource_path("", "v1", "namespaces"), "namespaces", cache.replace_namespaces,
            cache.namespace_event)

    async def _add_served_reflectors(self) -> None:
        """Queues and every gang API, where the API server serves them."""
        cache, add = self.cache, self._add_reflector
        group, version, plural = names.QUEUE_API
        if await served(self.client, group, version, plural):
            add(resource_path(group, version, plural), "queues", cache.replace_queues,
                cache.queue_event)
        else:
            log.info("%s/%s %s not served: queues come from --queues only", group, version,
                     plural)
        for kind in self.options.gang_kinds:
            found = await self._served_gang_version(kind)
            if found is None:
                continue
            cache.served_gang_kinds.add(kind.name)
            add(resource_path(found.group, found.version, found.plural),
                f"{kind.name} podgroups",
                lambda items, k=found: cache.replace_gangs(k, items),
                lambda event, obj, k=found: cache.gang_event(k, event, obj))

    async def _served_gang_version(self, kind: names.GangKind) -> names.GangKind | None:
        versions = names.UPSTREAM_VERSIONS if kind.name == names.UPSTREAM.name else \
            (kind.version,)
        for version in versions:
            if await served(self.client, kind.group, version, kind.plural):
                return kind._replace(version=version)
        return None

    async def _schedule_forever(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
        # lands as the wake-up fires, and a replica told to stop would keep renewing its Lease.
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.options.tick_s):
                    await self._wake.wait()
            await asyncio.sleep(self.options.batch_window_s)
            self._wake.clear()
            if self.is_leader():
                await self.run_cycle()
            else:
                self.cache.sync(self.clock())

    async def run_cycle(self) -> None:
        """One cycle (see the module docstring); the decisions' API calls run in background."""
        started = time.perf_counter()
        now = self.clock()
        cache = self.cache
        state = cache.sync(now)
        self._undo_overdue_gangs(now)
        self._report_problems()
        self._report_overcommit()
        decisions = 0
        if state is not None and state.pending:
            limit = self.options.max_decisions_per_cycle
            result = self.scheduler.cycle(state, now, max_starts=limit)
            decisions = len(result.decisions)
            if limit is not None and decisions >= limit:
                self.wake()  # more may fit: decide them once these bindings are on their way
            victims = [d for d in result.decisions if isinstance(d, Preempt)]
            busy_nodes: set[int] = set()
            for victim in victims:
                run = state.running.get(victim.job_id)
                if run is not None:
                    busy_nodes.update(run.placement.nodes)
                self._spawn(self.applier.evict_unit(victim.job_id, victim.reason))
            for decision in result.decisions:
                if not isinstance(decision, Start):
                    continue
                if busy_nodes and busy_nodes.intersection(decision.placement.nodes):
                    self.stats.deferred += 1
                    continue
                conflict = cache.rule_conflict(decision.job_id, decision.placement)
                if conflict:
                    self.stats.deferred += 1
                    self._report(decision.job_id, conflict)
                    continue
                work = cache.assume(decision.job_id, decision.placement, now)
                self.stats.started += 1
                self._spawn(self.applier.bind_gang(work))
            self._report_waiting(result.waiting)
        self.stats.cycles += 1
        self.stats.last_decisions = decisions
        elapsed = time.perf_counter() - started
        self.cycle_seconds.append(elapsed)
        del self.cycle_seconds[:-100_000]
        self.metrics.cycle_seconds.observe(elapsed)
        self.metrics.observe_state(cache.state, self._pending_by_queue())

    async def serve(self, host: str, port: int, *,
                    secure: SecureServing | None = None) -> web.AppRunner:
        """Serve ``/metrics`` (Prometheus), ``/healthz``, ``/readyz`` and ``/status`` (JSON).

        Without *secure*, only on a loopback address (anything else is refused: ConfigError);
        with it, over TLS, ``/metrics`` and ``/status`` to callers the API server authenticates
        and allows (see :mod:`corral.k8s.secure_serving`)."""
        check_exposure(host, authenticated=secure is not None)
        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=self.metrics.exposition(),
                                content_type="text/plain", charset="utf-8")

        async def healthz(_: web.Request) -> web.Response:
            return web.Response(text="ok")

        async def readyz(_: web.Request) -> web.Response:
            ok = self.ready.is_set()
            return web.Response(text="ok" if ok else "listing", status=200 if ok else 503)

        async def status(_: web.Request) -> web.Response:
            return web.json_response(self.status())

        app = web.Application(middlewares=[secure.auth.middleware] if secure else [])
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/readyz", readyz)
        app.router.add_get("/status", status)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port,
                          ssl_context=secure.ssl_context if secure else None).start()
        return runner

    def status(self) -> dict[str, Any]:
        """Leadership, cycle counts and why each waiting job waits (the ``/status`` answer)."""
        waiting = {unit: message for unit, message in self._reported.items()
                   if _ours(unit) and unit in self._pending_units()}
        return {"leader": self.is_leader(), "ready": self.ready.is_set(),
                "cycles": self.stats.cycles, "started": self.stats.started,
                "pending": self._pending_by_queue(), "waiting": waiting}

    def _pending_units(self) -> set[str]:
        return set(self.cache.pending_units())

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._inflight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("applying a decision failed", exc_info=task.exception())
        self.wake()

    async def settle(self) -> None:
        """Wait for every API call started so far (tests and shutdown)."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    def _undo_overdue_gangs(self, now: float) -> None:
        for unit, since in list(self.cache.partial_since.items()):
            info = self.cache.gang_info(unit)
            if info is None or now - since < info.timeout_s:
                continue
            bound = len(self.cache.bound_pods(str(UnitId.parse(unit).bound)))
            del self.cache.partial_since[unit]
            self.metrics.gangs_undone.inc()
            self._spawn(self.applier.undo_gang(
                unit, f"gang {info.ref.key}: only {bound}/{info.min_member} members bound "
                      f"after {info.timeout_s:g}s; evicting them so none runs partly"))

    def _report_waiting(self, waiting: dict[str, Any]) -> None:
        state = self.cache.state
        for unit, status in waiting.items():
            message = status.message
            job = state.jobs.get(unit) if state is not None else None
            if job is not None and job.tasks > 1 and status.code in (Code.UNSCHEDULABLE,
                                                                       Code.UNRESOLVABLE):
                fit = min(job.tasks, placeable_tasks(state, job))
                ref = UnitId.parse(unit).label
                message = (f"gang {ref} {fit}/{job.tasks} placeable: needs {job.tasks} x "
                           f"{job.gpus_per_task:g} GPUs, largest fit {fit}; {message}")
            if status.code is Code.UNRESOLVABLE:
                message = f"can never fit: {message}"
            narrowed = self.cache.narrowed.get(unit)
            if narrowed is not None:
                message = f"{message}; {narrowed.message()}"
            self._report(unit, message)

    def _report_problems(self) -> None:
        cache = self.cache
        for ref, bad in cache.bad_gangs.items():
            key = f"podgroup/{ref.kind}/{ref.key}"
            if self._reported.get(key) != bad.phase:
                self._reported[key] = bad.phase
                self.events.emit(ObjectRef.gang(bad), "Warning", names.EVENT_BAD_SPEC,
                                 bad.phase)
        edits, cache.edits_ignored = cache.edits_ignored, {}
        for key, message in edits.items():
            pod = cache.pods.get(key)
            if pod is not None:
                log.warning("%s", message)
                self.events.emit(ObjectRef.pod(pod), "Warning", names.EVENT_BOOKING_EDITED,
                                 message)
        for unit, message in list(self.cache.held_back.items()):
            self._report(unit, message)
        for key, message in list(self.cache.problems.items()):
            if _ours(key):
                self._report(key, message, bad=True)
            elif self._reported.get(key) != message:
                self._reported[key] = message
                log.warning("%s: %s", key, message)

    def _report_overcommit(self) -> None:
        """Make a race with another scheduler visible: a node whose bound pods hold more GPU
        than it has (another scheduler bound onto GPUs Corral had booked, or the other way
        round, inside the moment between a decision and its binding). Counted once per node
        each time it happens, with a Warning Event on the pods there."""
        over = self.cache.overcommitted()
        for node, (used, capacity, pods) in over.items():
            if node in self._overcommitted:
                continue
            self.metrics.overcommit_conflicts.inc()
            message = (f"node {node}: pods bound by more than one scheduler hold "
                       f"{used / MILLI:g} of its {capacity / MILLI:g} GPUs; reserve GPU nodes "
                       f"for Corral with the {names.RESERVED_TAINT} taint (see the docs)")
            log.warning("%s (pods: %s)", message, ", ".join(p.key for p in pods))
            for pod in pods[:16]:
                self.events.emit(ObjectRef.pod(pod), "Warning", names.EVENT_OVERCOMMIT,
                                 message)
        self._overcommitted = set(over)
        self.metrics.overcommitted_nodes.set(len(over))

    def _report(self, unit: str, message: str, *, bad: bool = False) -> None:
        """An Event on the unit's pods (and its gang object) saying why it waits, and the same
        as every pod's PodScheduled condition (kube-scheduler's reason SchedulerError for a
        spec it cannot read, Unschedulable otherwise)."""
        if self._reported.get(unit) == message:
            return
        self._reported[unit] = message
        reason = names.EVENT_BAD_SPEC if bad else names.EVENT_WAITING
        info = self.cache.gang_info(unit)
        if info is not None:
            self.events.emit(ObjectRef.gang(info), "Warning", reason, message)
        members = self.cache.members(unit)
        for pod in members[:16]:
            self.events.emit(ObjectRef.pod(pod), "Warning", reason, message)
        condition = names.SCHEDULER_ERROR if bad else names.UNSCHEDULABLE
        for pod in members:
            self.conditions.request(pod.key, condition, message)
        if len(self._reported) > 200_000:
            self._reported.clear()

    def _pending_by_queue(self) -> dict[str, int]:
        """Waiting jobs per queue: in the state's queue, or held out of it (gangs not complete,
        malformed requests)."""
        counts: dict[str, int] = {}
        state = self.cache.state
        if state is not None:
            for job in state.pending:
                counts[job.queue] = counts.get(job.queue, 0) + 1
        for unit in (*self.cache.held_back, *self.cache.problems):
            members = self.cache.members(unit) if _ours(unit) else []
            if members:
                counts[members[0].queue] = counts.get(members[0].queue, 0) + 1
        return counts


def placeable_tasks(state: ClusterState, job: Job) -> int:
    """How many of *job*'s tasks the free capacity could host now (each node counted alone)."""
    mask = state.allowed_mask(job)
    if job.gpu_milli >= MILLI:
        per_node = state.whole_free // job.whole_gpus_per_task
    elif job.gpu_milli > 0:
        per_node = (state.gpu_free // job.gpu_milli).sum(axis=1)
    else:
        per_node = np.full(len(state.nodes), job.tasks, dtype=np.int64)
    for need, free in ((job.cpu_milli, state.cpu_free), (job.memory_mib, state.mem_free)):
        if need:
            per_node = np.minimum(per_node, free // need)
    if job.max_tasks_per_node is not None:
        per_node = np.minimum(per_node, job.max_tasks_per_node)
    return int(np.maximum(per_node, 0)[mask].sum())


def _ours(key: str) -> bool:
    """True when *key* (of a message, a problem) names a unit of our pods."""
    unit = UnitId.find(key)
    return unit is not None and not unit.is_other
