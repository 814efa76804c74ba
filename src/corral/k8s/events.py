"""Kubernetes Events that say why a pod waits, was scheduled, was preempted or was not bound.

Events are written the way client-go's EventBroadcaster and EventCorrelator write them
(``tools/record``: ``events_cache.go``, ``event.go``), so a burst of thousands of bindings gets
its ``Scheduled`` Events within seconds and a flood of one message costs one object:

- :meth:`EventRecorder.emit` never waits: it files the event and returns; a background pool
  of :data:`WRITERS` writers sends them, so a slow API server delays Events, never a binding;
- identical events (same object, type, reason and message) aggregate into one Event: the
  first is created, a repeat raises its ``count`` and ``lastTimestamp`` with a patch, and
  repeats that come while it waits or is being written cost no request of their own;
- a spam filter per source and object (a token bucket: :data:`OBJECT_BURST` events, then
  one every :data:`OBJECT_REFILL_S` seconds, client-go's defaults) drops what an object
  would be flooded with, and a global token bucket (:data:`GLOBAL_QPS`, :data:`GLOBAL_BURST`)
  paces the writes so Events never crowd out bindings at the API server;
- ``Normal`` events yield to more urgent calls: while the scheduler has bindings on their
  way (its *urgent* callable says so), a writer holds such an event back, for at most
  :data:`MAX_DEFER_S` seconds, so a burst of bindings has the API server to itself and its
  ``Scheduled`` Events follow it, seconds behind, not minutes (a ``Warning`` says something
  is wrong and goes at once);
- the queue holds at most :data:`QUEUE_SIZE` events; when it is full the oldest ``Normal``
  event goes first (a ``Warning`` says something is wrong), and every event dropped, here or
  by the spam filter or after failed writes, is counted by cause.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from corral.k8s import conventions as names
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.gangs import GangInfo
from corral.k8s.pods import PodRecord

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
"""Events waiting to be written, at most (client-go's broadcaster keeps 1,000)."""
WRITERS = 16
"""Events written at once."""
OBJECT_BURST = 25
OBJECT_REFILL_S = 300.0
"""The spam filter per source and object: 25 events, then one more every 5 minutes."""
GLOBAL_QPS = 1_000.0
GLOBAL_BURST = 2_000
"""Event writes (creations and count patches) a second, over every object, and the burst
allowed above that rate."""
REMEMBERED = 20_000
"""Events whose object name and count are kept for aggregation (client-go keeps 4,096)."""
MAX_DEFER_S = 5.0
"""Longest an event is held back while more urgent calls (bindings) are under way."""
YIELD_POLL_S = 0.02
RETRIES = 3
RETRY_DELAY_S = 0.2
MESSAGE_LIMIT = 1024

# Causes of a dropped event (the label of the drop counter).
DROP_QUEUE_FULL = "queue_full"
DROP_SPAM = "spam_filter"
DROP_WRITE_FAILED = "write_failed"


class DropCounter(Protocol):
    """What counts drops: a Prometheus counter with one label, the cause."""

    def labels(self, cause: str) -> _Incrementable: ...


class _Incrementable(Protocol):
    def inc(self) -> None: ...


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


@dataclass(eq=False, slots=True)
class _Event:
    """One aggregated event: what the API server has of it, and what is still to write."""

    involved: ObjectRef
    type: str
    reason: str
    message: str
    first: float
    """Wall-clock time of the first occurrence (epoch seconds), and of the last."""
    last: float
    count: int = 1
    written: int = 0
    """The count the API server holds (0: not created yet)."""
    name: str = ""
    """The Event object's name once created."""
    seq: int = 0
    """Position in the queue (oldest first) while queued; -1 when not queued."""
    queued_at: float = 0.0
    """When it was last queued (the recorder's clock)."""
    writing: bool = False


class _TokenBucket:
    """Tokens refilled at *rate* a second up to *burst* (a starting bucket is full)."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, float(burst), now

    def refill(self, now: float) -> float:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        return self.tokens

    def take(self, now: float) -> bool:
        """Take a token if there is one."""
        if self.refill(now) < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def reserve(self, now: float) -> float:
        """Take a token, in debt if need be: seconds to wait until it is really there."""
        self.refill(now)
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class EventRecorder:
    """Files events and writes them as ``core/v1`` Events from ``corral-scheduler``."""

    def __init__(self, client: KubeClient | None, *, component: str = names.COMPONENT,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 drops: DropCounter | None = None, queue_size: int = QUEUE_SIZE,
                 writers: int = WRITERS, object_burst: int = OBJECT_BURST,
                 object_refill_s: float = OBJECT_REFILL_S, global_qps: float = GLOBAL_QPS,
                 global_burst: int = GLOBAL_BURST, urgent: Callable[[], bool] | None = None,
                 max_defer_s: float = MAX_DEFER_S) -> None:
        self.client = client
        self.component = component
        self.clock = clock
        self.wall_clock = wall_clock
        self.drops = drops
        self.queue_size = queue_size
        self.writers = writers
        self.object_burst = object_burst
        self.object_rate = 1.0 / object_refill_s
        self.urgent = urgent
        """True while calls more urgent than Events are under way (None: never)."""
        self.max_defer_s = max_defer_s
        self._global = _TokenBucket(global_qps, global_burst, clock())
        self._events: dict[tuple[ObjectRef, str, str, str], _Event] = {}
        self._spam: dict[tuple[ObjectRef, str], _TokenBucket] = {}
        self._normal: deque[_Event] = deque()
        self._warning: deque[_Event] = deque()
        self._seq = itertools.count()
        self._ready = asyncio.Event()
        self.dropped = 0
        """Events dropped, for whatever cause."""
        self.written = 0
        """Writes done: Events created and counts patched."""
        self.recent: deque[tuple[ObjectRef, str, str, str]] = deque(maxlen=1000)
        """The last events emitted (newest last), for logs and tests."""

    @property
    def queued(self) -> int:
        return len(self._normal) + len(self._warning)

    def emit(self, involved: ObjectRef, type_: str, reason: str, message: str) -> bool:
        """File an event; True if it will be written (alone or as a repeat of one already
        filed), False if the spam filter or a full queue dropped it. Never waits."""
        message = message[:MESSAGE_LIMIT]
        now = self.clock()
        if not self._spam_allows(involved, type_, now):
            self._drop(DROP_SPAM)
            return False
        self.recent.append((involved, type_, reason, message))
        log.debug("%s %s/%s %s: %s", involved.kind, involved.namespace, involved.name, reason,
                  message)
        key = (involved, type_, reason, message)
        wall = self.wall_clock()
        event = self._events.pop(key, None)
        if event is None:
            event = _Event(involved, type_, reason, message, wall, wall, seq=-1)
            if len(self._events) >= REMEMBERED:
                del self._events[next(iter(self._events))]  # the least recently emitted
        else:
            event.count += 1
            event.last = wall
        self._events[key] = event
        if event.seq >= 0 or event.writing:
            return True  # its writer sends the new count with it, or right after
        return self._enqueue(event)

    def _spam_allows(self, involved: ObjectRef, type_: str, now: float) -> bool:
        key = (involved, type_)
        bucket = self._spam.get(key)
        if bucket is None:
            if len(self._spam) >= REMEMBERED:
                self._forget_full_buckets(now)
            bucket = self._spam[key] = _TokenBucket(self.object_rate, self.object_burst, now)
        return bucket.take(now)

    def _forget_full_buckets(self, now: float) -> None:
        """Forget buckets that have refilled (the same as none), then the oldest if need be."""
        self._spam = {k: b for k, b in self._spam.items() if b.refill(now) < b.burst}
        while len(self._spam) >= REMEMBERED:
            del self._spam[next(iter(self._spam))]

    def _enqueue(self, event: _Event) -> bool:
        if self.queued >= self.queue_size:
            # Full: the oldest Normal event makes room; if every queued one is a Warning, the
            # oldest Warning does, unless the newcomer is Normal itself.
            if self._normal:
                victim = self._normal.popleft()
            elif event.type != "Normal":
                victim = self._warning.popleft()
            else:
                self._drop(DROP_QUEUE_FULL)
                return False
            victim.seq = -1
            self._drop(DROP_QUEUE_FULL)
        event.seq = next(self._seq)
        event.queued_at = self.clock()
        (self._normal if event.type == "Normal" else self._warning).append(event)
        self._ready.set()
        return True

    def _next(self) -> _Event | None:
        """The oldest queued event."""
        if self._normal and (not self._warning or self._normal[0].seq < self._warning[0].seq):
            event = self._normal.popleft()
        elif self._warning:
            event = self._warning.popleft()
        else:
            return None
        event.seq = -1
        return event

    def _drop(self, cause: str) -> None:
        self.dropped += 1
        if self.drops is not None:
            self.drops.labels(cause).inc()

    async def run(self) -> None:
        """Write filed events with :attr:`writers` concurrent writers until cancelled."""
        workers = [asyncio.create_task(self._writer(), name=f"event writer {i}")
                   for i in range(self.writers)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until nothing is queued or being written (tests, shutdown)."""
        while self.queued or any(e.writing for e in self._events.values()):
            await asyncio.sleep(0.01)

    async def _writer(self) -> None:
        while True:
            event = self._next()
            if event is None:
                self._ready.clear()
                await self._ready.wait()
                continue
            if self.client is None:
                continue
            event.writing = True  # a repeat filed meanwhile rides on this write
            try:
                await self._yield_to_urgent(event)
                wait = self._global.reserve(self.clock())
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._write(event)
            finally:
                event.writing = False
            if event.count > event.written and event.seq < 0 and \
                    self._events.get(self._key(event)) is event:
                self._enqueue(event)  # repeats came while it was written: send their count

    async def _yield_to_urgent(self, event: _Event) -> None:
        """Hold a Normal *event* back while more urgent calls are under way, up to
        max_defer_s."""
        if self.urgent is None or event.type != "Normal":
            return
        while self.urgent() and self.clock() - event.queued_at < self.max_defer_s:
            await asyncio.sleep(YIELD_POLL_S)

    @staticmethod
    def _key(event: _Event) -> tuple[ObjectRef, str, str, str]:
        return (event.involved, event.type, event.reason, event.message)

    async def _write(self, event: _Event) -> None:
        """Create the Event, or patch its count; transient failures are retried a few times,
        then the event is dropped (a later repeat writes the whole count)."""
        assert self.client is not None
        count, last = event.count, event.last
        name = ""
        for attempt in range(RETRIES):
            try:
                if event.name:
                    try:
                        await self._patch(event, count, last)
                    except ApiError as exc:
                        if not exc.not_found:
                            raise
                        event.name, event.written = "", 0  # expired: a new Event
                if not event.name:
                    # client-go's naming: the object's name and the time in nanoseconds (hex).
                    name = name or f"{event.involved.name}.{time.time_ns():x}"
                    try:
                        await self._create(event, name, count, last)
                    except ApiError as exc:
                        if not exc.conflict:  # 409: an earlier try did create it
                            raise
                    event.name = name
                event.written = count
                self.written += 1
                return
            except ApiError as exc:
                if attempt + 1 < RETRIES and (exc.status in (0, 429) or exc.status >= 500):
                    await asyncio.sleep(RETRY_DELAY_S * 2 ** attempt)
                    continue
                log.debug("event on %s/%s not written: %s", event.involved.namespace,
                          event.involved.name, exc)
                self._drop(DROP_WRITE_FAILED)
                return

    async def _create(self, event: _Event, name: str, count: int, last: float) -> None:
        assert self.client is not None
        involved = event.involved
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": involved.namespace},
            "involvedObject": {"kind": involved.kind, "namespace": involved.namespace,
                               "name": involved.name, "uid": involved.uid,
                               "apiVersion": involved.api_version},
            "reason": event.reason, "message": event.message, "type": event.type,
            "source": {"component": self.component},
            "firstTimestamp": _stamp(event.first), "lastTimestamp": _stamp(last),
            "count": count, "reportingComponent": self.component,
        }
        await self.client.request(
            "POST", resource_path("", "v1", "events", involved.namespace), body=body,
            answer=False)

    async def _patch(self, event: _Event, count: int, last: float) -> None:
        assert self.client is not None
        await self.client.merge_patch(
            resource_path("", "v1", "events", event.involved.namespace, event.name),
            {"count": count, "lastTimestamp": _stamp(last)})


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
