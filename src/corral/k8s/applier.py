"""Decisions as API calls: bind gangs all or nothing, evict preemption victims, undo partial gangs.

A Start decision reaches the applier only after the cache has *assumed* it, so every member
already has a reserved place. Each member is bound through ``pods/binding``; a fractional pod's
Binding carries its placement (``corral.dev/gpu-index``, ``gpu-milli``, ``gpu-memory-mib``,
``assigned-node``: the node agent reads them at Allocate), which the API server writes on the
pod with its node, and once bound the share is also recorded on the pod's status
(:data:`~corral.k8s.conventions.BOOKED_CONDITION`), where its owner cannot edit it. Transient
failures are retried; a ``409 Conflict`` is looked into, not reported (the pod may already be
bound where we wanted, or by someone else); a pod deleted meanwhile is simply gone. Members
that could not be bound are forgotten (they wait again, to complete their gang in a later
cycle). A gang left bound below its minimum is undone after its timeout
(:meth:`Applier.undo_gang`), through the Eviction API.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from corral.k8s import conventions as names
from corral.k8s.bindings import Binding, GangBinding
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.cluster_cache import ClusterCache
from corral.k8s.events import EventRecorder, ObjectRef
from corral.k8s.metrics import SchedulerMetrics
from corral.k8s.pods import PodRecord, booked_message
from corral.k8s.unit_ids import UnitId
from corral.model import MILLI

log = logging.getLogger(__name__)

RETRIES = 3
RETRY_DELAY_S = 0.2


@dataclass(frozen=True, slots=True)
class BindOutcome:
    """What became of one gang's bindings."""

    bound: int
    failed: int
    gone: int


class Applier:
    """Carries out decisions; at most *concurrency* API calls in flight."""

    def __init__(self, client: KubeClient, cache: ClusterCache, events: EventRecorder,
                 metrics: SchedulerMetrics, *, is_leader: Callable[[], bool],
                 concurrency: int = 128, grace_seconds: int = 30) -> None:
        self.client = client
        self.cache = cache
        self.events = events
        self.metrics = metrics
        self.is_leader = is_leader
        self.grace_seconds = grace_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self.evicting: set[str] = set()
        self.binding = 0
        """Bindings decided and not yet answered (Events wait while there are any)."""

    async def bind_gang(self, work: GangBinding) -> BindOutcome:
        """Bind every member of *work*; forget the ones that could not be bound."""
        self.binding += len(work.bindings)
        try:
            results = await asyncio.gather(*(self._bind_one(b) for b in work.bindings))
        finally:
            self.binding -= len(work.bindings)
        bound = sum(1 for r in results if r == "bound")
        gone = sum(1 for r in results if r == "gone")
        failed = len(results) - bound - gone
        if failed and work.gang is not None:
            self.events.emit(_gang_ref(work), "Warning", names.EVENT_BIND_FAILED,
                             f"gang {work.gang.ref.key}: {failed} of {len(results)} members "
                             "could not be bound; they will be retried, and the gang undone "
                             f"if it is still incomplete after {work.gang.timeout_s:g}s")
        elif bound and work.gang is not None and work.gang.ref.kind == \
                names.SCHEDULER_PLUGINS.name:
            await self._gang_phase(work, "Scheduled")
        return BindOutcome(bound, failed, gone)

    async def _bind_one(self, binding: Binding) -> str:
        """'bound', 'gone' (deleted, or bound elsewhere by someone else) or 'failed'."""
        pod = binding.pod
        for attempt in range(RETRIES):
            if not self.is_leader():
                self.cache.forget(pod.key)
                return "failed"
            try:
                async with self._slots:
                    await self.client.bind(pod.namespace, pod.name, binding.node, pod.uid,
                                           _placement_annotations(binding))
            except ApiError as exc:
                if exc.not_found:
                    self.cache.forget(pod.key)
                    return "gone"
                if exc.conflict:
                    where = await self._bound_where(binding)
                    if where == binding.node:
                        self.metrics.bindings.labels("bound").inc()
                        return "bound"
                    self.cache.forget(pod.key)
                    if where:
                        return "gone"  # another scheduler got there first: not an error
                if exc.status in (0, 429) or exc.status >= 500:
                    await asyncio.sleep(RETRY_DELAY_S * (2 ** attempt))
                    continue
                log.warning("binding %s to %s failed: %s", pod.key, binding.node, exc)
                self.events.emit(ObjectRef.pod(pod), "Warning", names.EVENT_BIND_FAILED,
                                 f"binding to {binding.node} failed: {exc}")
                self.cache.forget(pod.key)
                self.metrics.bindings.labels("failed").inc()
                return "failed"
            self.metrics.bindings.labels("bound").inc()
            self.events.emit(ObjectRef.pod(pod), "Normal", names.EVENT_SCHEDULED,
                             f"Successfully assigned {pod.key} to {binding.node}")
            if 0 < pod.request.gpu_milli < MILLI:
                await self._record_booking(binding)
            return "bound"
        self.cache.forget(pod.key)
        self.metrics.bindings.labels("failed").inc()
        return "failed"

    async def _record_booking(self, binding: Binding) -> None:
        """Write the share a fractional pod was bound with as a condition on its status, which
        its owner may not write, so a restarted scheduler books what was granted, not what the
        annotations say by then. Best effort: without it a restart reads the annotations."""
        pod = binding.pod
        condition = {"type": names.BOOKED_CONDITION, "status": "True", "reason": "Bound",
                     "message": booked_message(pod.request, binding.gpus)}
        path = resource_path("", "v1", "pods", pod.namespace, pod.name, "status")
        try:
            async with self._slots:
                await self.client.merge_patch(path, {"status": {"conditions": [condition]}},
                                              strategic=True)
        except ApiError as exc:
            log.info("pod %s: booked share not recorded on its status (%s)", pod.key, exc)

    async def _bound_where(self, binding: Binding) -> str:
        """The node a pod is bound to now ('' if none, or if it is gone)."""
        pod = binding.pod
        try:
            obj = await self.client.request(
                "GET", resource_path("", "v1", "pods", pod.namespace, pod.name))
        except ApiError:
            return ""
        return (obj.get("spec") or {}).get("nodeName") or ""

    async def evict_unit(self, unit: str, reason: str) -> int:
        """Evict every bound pod of *unit* (a preemption victim); how many evictions started."""
        started = 0
        pods = [p for p in self.cache.bound_pods(unit) if p.key not in self.evicting]
        for pod in pods:
            self.evicting.add(pod.key)
        results = await asyncio.gather(*(self._evict(p, reason) for p in pods))
        started = sum(results)
        if started:
            self.metrics.preemptions.inc()
        return started

    async def _evict(self, pod: PodRecord, reason: str) -> bool:
        if not self.is_leader():
            self.evicting.discard(pod.key)
            return False
        try:
            async with self._slots:
                await self.client.evict(pod.namespace, pod.name, self.grace_seconds)
        except ApiError as exc:
            self.evicting.discard(pod.key)
            if exc.not_found:
                return False
            if exc.status == 429:
                why = exc.message or "a PodDisruptionBudget forbids it now"
                self.events.emit(ObjectRef.pod(pod), "Warning", names.EVENT_EVICTION_BLOCKED,
                                 f"not evicted ({reason}): {why}")
                return False
            log.warning("evicting %s failed: %s", pod.key, exc)
            return False
        self.cache.evicted.add(pod.key)
        self.events.emit(ObjectRef.pod(pod), "Normal", names.EVENT_PREEMPTED, reason)
        return True

    async def undo_gang(self, unit: str, why: str) -> int:
        """Evict the bound members of a gang that stayed below its minimum past its timeout."""
        info = self.cache.gang_info(unit)
        if info is not None:
            self.events.emit(ObjectRef.gang(info), "Warning", names.EVENT_GANG_UNDONE, why)
        return await self.evict_unit(str(UnitId.parse(unit).bound), why)

    async def _gang_phase(self, work: GangBinding, phase: str) -> None:
        info = work.gang
        assert info is not None
        kind = names.SCHEDULER_PLUGINS
        path = resource_path(kind.group, kind.version, kind.plural, info.ref.namespace,
                             info.ref.name, "status")
        try:
            await self.client.merge_patch(path, {"status": {"phase": phase}})
        except ApiError as exc:
            log.info("PodGroup %s: status not written (%s)", info.ref.key, exc)


def _placement_annotations(binding: Binding) -> dict[str, str] | None:
    """What the node agent reads at Allocate for a fractional pod (None for whole GPUs, whose
    devices the kubelet picks): carried by the Binding, so they arrive with the node name."""
    pod = binding.pod
    if not 0 < pod.request.gpu_milli < MILLI:
        return None
    annotations = {
        names.GPU_INDEX: ",".join(str(g) for g in binding.gpus),
        names.GPU_MILLI: str(pod.request.gpu_milli),
        names.ASSIGNED_NODE: binding.node,
    }
    if binding.gpu_memory_mib:
        annotations[names.GPU_MEMORY_MIB] = str(binding.gpu_memory_mib)
    return annotations


def _gang_ref(work: GangBinding) -> ObjectRef:
    assert work.gang is not None
    return ObjectRef.gang(work.gang)
