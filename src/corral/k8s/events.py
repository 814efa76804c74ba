"""Kubernetes Events that say why a pod waits, was preempted or could not be bound.

Events are written by a background task from a bounded queue, so a slow API server delays
them, never a binding; the same message about the same object is written once per
:data:`REPEAT_AFTER_S` (as the kubelet's and kube-scheduler's recorders aggregate), and when the
queue is full new events are dropped and counted rather than piling up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from corral.k8s import conventions as names
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.gangs import GangInfo
from corral.k8s.pods import PodRecord

log = logging.getLogger(__name__)

REPEAT_AFTER_S = 300.0
QUEUE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """The object an Event is about."""

    kind: str
    namespace: str
    name: str
    uid: str = ""
    api_version: str = "v1"

    @classmethod
    def pod(cls, pod: PodRecord) -> ObjectRef:
        return cls("Pod", pod.namespace, pod.name, pod.uid)

    @classmethod
    def gang(cls, info: GangInfo) -> ObjectRef:
        kind = next(k for k in names.GANG_KINDS if k.name == info.ref.kind)
        return cls("PodGroup", info.ref.namespace, info.ref.name, info.uid,
                   f"{kind.group}/{kind.version}")


class EventRecorder:
    """Queues events and writes them as ``core/v1`` Events from ``corral-scheduler``."""

    def __init__(self, client: KubeClient | None, *, component: str = names.COMPONENT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.component = component
        self.clock = clock
        self._queue: asyncio.Queue[tuple[ObjectRef, str, str, str]] = asyncio.Queue(QUEUE_SIZE)
        self._last: dict[tuple[ObjectRef, str, str], float] = {}
        self.dropped = 0
        self.written = 0
        self.recent: list[tuple[ObjectRef, str, str, str]] = []
        """The last events emitted (newest last), for logs and tests."""

    def emit(self, involved: ObjectRef, type_: str, reason: str, message: str) -> bool:
        """Queue an event unless the same one was emitted recently; True if queued."""
        key = (involved, reason, message)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < REPEAT_AFTER_S:
            return False
        self._last[key] = now
        if len(self._last) > 4 * QUEUE_SIZE:
            cutoff = now - REPEAT_AFTER_S
            self._last = {k: t for k, t in self._last.items() if t >= cutoff}
        item = (involved, type_, reason, message)
        self.recent.append(item)
        del self.recent[:-1000]
        log.debug("%s %s/%s %s: %s", involved.kind, involved.namespace, involved.name, reason,
                 message)
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    async def run(self) -> None:
        """Write queued events until cancelled."""
        while True:
            item = await self._queue.get()
            if self.client is None:
                continue
            with contextlib.suppress(ApiError):
                await self._write(*item)
                self.written += 1

    async def _write(self, involved: ObjectRef, type_: str, reason: str, message: str) -> None:
        assert self.client is not None
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{involved.name}.{uuid.uuid4().hex[:16]}",
                         "namespace": involved.namespace},
            "involvedObject": {"kind": involved.kind, "namespace": involved.namespace,
                               "name": involved.name, "uid": involved.uid,
                               "apiVersion": involved.api_version},
            "reason": reason, "message": message[:1024], "type": type_,
            "source": {"component": self.component},
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": self.component,
        }
        try:
            await self.client.request(
                "POST", resource_path("", "v1", "events", involved.namespace), body=body)
        except ApiError as exc:
            log.debug("event on %s/%s not written: %s", involved.namespace, involved.name, exc)
            raise
