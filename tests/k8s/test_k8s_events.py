"""Events keep up with a burst of bindings, aggregate repeats, and never hold up the caller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from k8s_builders import emulated, until

from corral.k8s import conventions as names
from corral.k8s.client import KubeClient
from corral.k8s.events import (
    DROP_QUEUE_FULL,
    DROP_SPAM,
    OBJECT_BURST,
    OBJECT_REFILL_S,
    EventRecorder,
    ObjectRef,
)
from corral.k8s.metrics import SchedulerMetrics
from corral.k8s.testing.emulator import Emulator


def _pod(i: int) -> ObjectRef:
    return ObjectRef("Pod", "default", f"p{i}", f"uid-{i}")


def _events(emu: Emulator, reason: str | None = None) -> list[dict[str, Any]]:
    return [e for e in emu.objects("events") if reason is None or e["reason"] == reason]


class _Clock:
    """A clock the test moves by hand (for the spam filter's refill)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def _writing(recorder: EventRecorder) -> AsyncIterator[EventRecorder]:
    task = asyncio.create_task(recorder.run())
    try:
        yield recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if recorder.client is not None:
            await recorder.client.close()


def _dropped(metrics: SchedulerMetrics, cause: str) -> float:
    return metrics.registry.get_sample_value("corral_events_dropped_total",
                                             {"cause": cause}) or 0.0


class _CountingClient(KubeClient):
    """The real client, noting how many requests are in flight at once."""

    in_flight = 0
    most_in_flight = 0

    async def request(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await super().request(*args, **kwargs)
        finally:
            self.in_flight -= 1


def test_a_burst_of_5000_scheduled_events_is_written_in_full() -> None:
    """Every one of 5,000 bindings gets its Scheduled Event, one Event per pod, written by
    several writers at once (one at a time is what fell minutes behind a real API server)."""
    n = 5_000

    async def scenario() -> None:
        async with emulated() as emu:
            client = _CountingClient.for_url(emu.url)
            recorder = EventRecorder(client)
            async with _writing(recorder):
                for i in range(n):
                    assert recorder.emit(_pod(i), "Normal", names.EVENT_SCHEDULED,
                                         f"Successfully assigned default/p{i} to n{i % 100}")
                await until(lambda: len(_events(emu)) >= n, timeout=240)
                await recorder.drain()
            written = _events(emu, names.EVENT_SCHEDULED)
            assert len(written) == n and recorder.dropped == 0
            assert {e["involvedObject"]["name"] for e in written} == {f"p{i}" for i in range(n)}
            assert all(e["count"] == 1 and e["source"]["component"] == names.COMPONENT
                       for e in written)
            assert client.most_in_flight >= 8
    asyncio.run(asyncio.wait_for(scenario(), 300))


def test_repeats_of_one_event_become_one_event_with_a_count() -> None:
    """Repeats filed before the first write and after it raise one Event's count; the spam
    filter lets an object have OBJECT_BURST events, then one per refill."""
    async def scenario() -> None:
        async with emulated() as emu:
            clock, wall = _Clock(), _Clock()
            metrics = SchedulerMetrics()
            recorder = EventRecorder(KubeClient.for_url(emu.url), clock=clock, wall_clock=wall,
                                     drops=metrics.events_dropped)
            pod, reason, message = _pod(0), names.EVENT_WAITING, "QuotaAdmit: queue full"
            for _ in range(10):
                recorder.emit(pod, "Warning", reason, message)
            assert recorder.queued == 1  # the repeats ride on the queued one
            async with _writing(recorder):
                await until(lambda: len(_events(emu)) == 1)
                await recorder.drain()
                assert _events(emu)[0]["count"] == 10
                wall.now += 60
                for _ in range(5):
                    recorder.emit(pod, "Warning", reason, message)
                await until(lambda: _events(emu)[0]["count"] == 15)
                recorder.emit(pod, "Warning", reason, "another message")
                await until(lambda: len(_events(emu)) == 2)
                # The object has had 16 events; 9 more pass the spam filter, the rest do not.
                for _ in range(20):
                    recorder.emit(pod, "Warning", reason, message)
                await recorder.drain()
                first = next(e for e in _events(emu) if e["message"] == message)
                assert first["count"] == OBJECT_BURST - 1
                assert _dropped(metrics, DROP_SPAM) == 20 - (OBJECT_BURST - 16)
                assert first["lastTimestamp"] > first["firstTimestamp"]
                clock.now += OBJECT_REFILL_S  # one more token
                assert recorder.emit(pod, "Warning", reason, message)
                assert not recorder.emit(pod, "Warning", reason, message)
                await until(lambda: next(e for e in _events(emu)
                                         if e["message"] == message)["count"] == OBJECT_BURST)
            assert len(_events(emu)) == 2
            assert ("", "events", "patch") in emu.calls
    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_full_queue_drops_the_oldest_normal_events_first() -> None:
    """With 60 Warnings and 100 Normal events filed for a queue of 100, the Warnings and the
    newest Normal events are written, and the 60 drops are counted."""
    async def scenario() -> None:
        async with emulated() as emu:
            metrics = SchedulerMetrics()
            recorder = EventRecorder(KubeClient.for_url(emu.url), queue_size=100,
                                     drops=metrics.events_dropped)
            for i in range(100):
                if i < 60:
                    recorder.emit(_pod(1000 + i), "Warning", names.EVENT_BIND_FAILED, "no")
                recorder.emit(_pod(i), "Normal", names.EVENT_SCHEDULED, f"to n{i}")
            assert recorder.queued == 100
            assert _dropped(metrics, DROP_QUEUE_FULL) == 60 == recorder.dropped
            async with _writing(recorder):
                await until(lambda: len(_events(emu)) == 100)
                await recorder.drain()
            assert len(_events(emu, names.EVENT_BIND_FAILED)) == 60
            kept = {e["involvedObject"]["name"] for e in _events(emu, names.EVENT_SCHEDULED)}
            assert kept == {f"p{i}" for i in range(60, 100)}
    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_emit_never_waits_for_an_api_server_that_does_not_answer() -> None:
    """Every writer stuck on a server that accepts and never answers: emit still returns at
    once, the loop keeps running, and what does not fit is dropped and counted."""
    async def scenario() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                await reader.read(-1)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        metrics = SchedulerMetrics()
        recorder = EventRecorder(KubeClient.for_url(f"http://127.0.0.1:{port}"),
                                 queue_size=50, writers=4, drops=metrics.events_dropped)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(ticker())
        try:
            async with _writing(recorder):
                await asyncio.sleep(0.05)
                for i in range(4):  # one for each writer, which then hangs on it
                    recorder.emit(_pod(i), "Normal", names.EVENT_SCHEDULED, "stuck")
                await until(lambda: recorder.queued == 0)
                before = ticks
                for round_ in range(20):
                    for i in range(500):
                        recorder.emit(_pod(10_000 * round_ + i), "Normal",
                                      names.EVENT_SCHEDULED, "x")
                    await asyncio.sleep(0)
                assert ticks > before  # the loop ran between the rounds
                assert recorder.queued == 50
                assert _dropped(metrics, DROP_QUEUE_FULL) == 20 * 500 - 50
        finally:
            ticking.cancel()
            server.close()
    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_events_wait_while_bindings_are_under_way_but_not_past_max_defer() -> None:
    """While the scheduler has bindings on their way, Normal Events are held back (a burst of
    bindings gets the API server to itself); once none are, or once an event has waited
    max_defer_s, it is written. Warnings are not held back."""
    async def scenario() -> None:
        async with emulated() as emu:
            clock = _Clock()
            busy = {"binding": True}
            recorder = EventRecorder(KubeClient.for_url(emu.url), clock=clock,
                                     urgent=lambda: busy["binding"], max_defer_s=5.0)
            async with _writing(recorder):
                recorder.emit(_pod(0), "Normal", names.EVENT_SCHEDULED, "assigned p0")
                await asyncio.sleep(0.3)
                assert _events(emu) == []
                recorder.emit(_pod(0), "Normal", names.EVENT_SCHEDULED, "assigned p0")
                busy["binding"] = False
                await until(lambda: len(_events(emu)) == 1)
                await recorder.drain()
                assert _events(emu)[0]["count"] == 2  # the repeat rode on the held event
                busy["binding"] = True
                recorder.emit(_pod(1), "Normal", names.EVENT_SCHEDULED, "assigned p1")
                await asyncio.sleep(0.3)
                assert len(_events(emu)) == 1
                recorder.emit(_pod(2), "Warning", names.EVENT_WAITING, "no GPU fits")
                await until(lambda: len(_events(emu)) == 2)  # a Warning goes at once
                assert len(_events(emu, names.EVENT_SCHEDULED)) == 1
                clock.now += 5.0  # waited max_defer_s: written although bindings go on
                await until(lambda: len(_events(emu, names.EVENT_SCHEDULED)) == 2)
    asyncio.run(asyncio.wait_for(scenario(), 60))
