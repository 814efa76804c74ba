"""Leader election against one emulated API server, on virtual clocks.

Two electors share the emulator; each replica's clock is a virtual one the test moves (offset
from the other's, as clocks of two machines are). A *pause* is a replica whose tasks are not
run for a while (its lease update sent, its reply and its queued writes waiting), a *slow
reply* a lease update the server applies at once but answers late. Over the whole timeline the
tests check that at no instant both replicas pass the write fence, and that a replica sends no
write once the other has taken over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from k8s_builders import bound_to, emulated, live, node, pod, run, until

from corral.k8s.client import ApiError, KubeClient, WriteRefused, resource_path
from corral.k8s.leader import LeaderElector
from corral.k8s.testing.emulator import Emulator

LEASE = {"lease_duration": 15.0, "renew_deadline": 10.0, "retry": 2.0}
EVENTS = resource_path("", "v1", "events", "default")
STEP_S = 0.5


class VirtualClock:
    """Seconds the test moves by hand; *offset* gives each replica its own reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def reading(self, offset: float) -> Callable[[], float]:
        return lambda: self.now + offset


class HeldClient(KubeClient):
    """A client whose Lease writes reach the API server at once but whose replies, while
    :attr:`holding`, wait until :attr:`release` is set; :attr:`after_lease_read` runs between a
    Lease read and what the elector does with it (another writer slipping in)."""

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self.holding = False
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self.after_lease_read: Callable[[], None] | None = None

    async def _send(self, method: str, path: str, *args: Any) -> Any:
        response = await super()._send(method, path, *args)
        if "/leases" in path and method != "GET" and self.holding:
            self.held.set()
            await self.release.wait()
        if "/leases/" in path and method == "GET" and self.after_lease_read is not None:
            self.after_lease_read()
        return response


class Replica:
    """One scheduler replica reduced to its elector and a writer that sends one Event a step."""

    def __init__(self, name: str, emulator: Emulator, clock: VirtualClock, offset: float) -> None:
        self.name = name
        self.clock = clock
        self.client = HeldClient.for_url(emulator.url)
        self.elector = LeaderElector(self.client, name, namespace="kube-system",
                                     name="corral-scheduler", clock=clock.reading(offset),
                                     **LEASE)
        self.client.write_fence = self.elector.allows_write
        self.next_round = 0.0
        self.round: asyncio.Task[None] | None = None
        self.writes: list[float] = []
        """Virtual instants at which a write of this replica reached the API server."""

    def passes_fence(self) -> bool:
        assert self.client.write_fence is not None
        return self.client.write_fence("POST", EVENTS)

    async def start_round(self) -> None:
        """Run a lease round until it is done or its reply is held (it then finishes later)."""
        self.client.held.clear()
        self.round = asyncio.create_task(self.elector.renew_once())
        held = asyncio.create_task(self.client.held.wait())
        await asyncio.wait({self.round, held}, return_when=asyncio.FIRST_COMPLETED)
        held.cancel()
        if self.round.done():
            self.round = None
        self.next_round = self.clock.now + LEASE["retry"]

    async def finish_round(self) -> None:
        """Let a held reply arrive and the round end."""
        assert self.round is not None
        self.client.holding = False
        self.client.release.set()
        await self.round
        self.round = None
        self.client.release.clear()

    async def write(self) -> bool:
        """Send one write as the applier would; False if the fence stopped it."""
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{self.name}-{len(self.writes)}-{self.clock.now:g}"},
                "reason": "Test", "message": f"{self.name} at {self.clock.now:g}"}
        try:
            await self.client.request("POST", EVENTS, body=body)
        except WriteRefused:
            return False
        self.writes.append(self.clock.now)
        return True


class Timeline:
    """Moves virtual time in steps; every replica not paused writes once a step and runs a lease
    round every *retry*; after every move and every round, at most one replica passes."""

    def __init__(self, clock: VirtualClock, *replicas: Replica) -> None:
        self.clock = clock
        self.replicas = replicas
        self.paused: set[str] = set()
        self.took_over: dict[str, float] = {}
        """When each replica first passed the fence after another had."""
        self._last: str | None = None

    def check(self) -> None:
        passing = [r.name for r in self.replicas if r.passes_fence()]
        assert len(passing) <= 1, f"at t={self.clock.now:g} both {passing} pass the write fence"
        if passing and passing[0] != self._last:
            self.took_over[passing[0]] = self.clock.now
            self._last = passing[0]

    async def run_until(self, end: float) -> None:
        while self.clock.now < end:
            for replica in self.replicas:
                if replica.name in self.paused:
                    continue
                if replica.round is None and self.clock.now >= replica.next_round:
                    await replica.start_round()
                    self.check()
                await replica.write()
            self.clock.now += STEP_S
            self.check()


async def two_replicas(emulator: Emulator) -> tuple[VirtualClock, Replica, Replica, Timeline]:
    clock = VirtualClock()
    a = Replica("a", emulator, clock, 0.0)
    b = Replica("b", emulator, clock, 1000.0)
    timeline = Timeline(clock, a, b)
    await a.start_round()
    timeline.check()
    assert a.elector.is_leader()
    return clock, a, b, timeline


def writes_after(replica: Replica, instant: float) -> list[float]:
    return [t for t in replica.writes if t >= instant]


def test_a_leader_paused_mid_renewal_sends_nothing_after_the_other_took_over() -> None:
    """A 25 s pause while a renewal is in flight: the update reached the server, its reply and
    a write queued before the pause come after it. The standby takes over meanwhile; the
    resumed leader's reply, its queued write and its next rounds give it nothing."""
    async def scenario() -> None:
        async with emulated() as emu:
            clock, a, b, timeline = await two_replicas(emu)
            await timeline.run_until(6.0)
            assert a.writes and not b.writes
            queued_write_checked = a.elector.is_leader()  # an applier checked before the pause
            a.client.holding = True
            a.next_round = clock.now
            await timeline.run_until(clock.now + STEP_S)
            assert a.round is not None, "a's renewal reply should be held"
            timeline.paused.add("a")
            await timeline.run_until(clock.now + 25.0)
            assert "b" in timeline.took_over and b.elector.is_leader()
            timeline.paused.discard("a")
            await a.finish_round()
            timeline.check()
            assert queued_write_checked and not await a.write()
            await timeline.run_until(clock.now + 20.0)
            assert not writes_after(a, timeline.took_over["b"])
            assert not a.elector.is_leader() and b.elector.is_leader()
            assert writes_after(b, timeline.took_over["b"])
            for client in (a.client, b.client):
                await client.close()
    run(scenario)


def test_a_lease_reply_slower_than_the_renew_deadline_never_gives_two_writers() -> None:
    """The leader keeps running but one renewal's reply takes 20 s: it stops writing at the
    deadline of that renewal's send time, the standby takes over, and the late reply does not
    make the old leader leader again."""
    async def scenario() -> None:
        async with emulated() as emu:
            clock, a, b, timeline = await two_replicas(emu)
            await timeline.run_until(6.0)
            a.client.holding = True
            a.next_round = clock.now
            sent = clock.now
            await timeline.run_until(sent + 20.0)
            assert a.round is not None and "b" in timeline.took_over
            assert max(a.writes) < sent + LEASE["renew_deadline"]
            await a.finish_round()
            timeline.check()
            assert not a.elector.is_leader()
            await timeline.run_until(clock.now + 20.0)
            assert not writes_after(a, timeline.took_over["b"])
            assert b.elector.is_leader() and writes_after(b, timeline.took_over["b"])
            for client in (a.client, b.client):
                await client.close()
    run(scenario)


def test_leadership_is_timed_from_when_the_renewal_was_sent() -> None:
    """A renewal answered 3 s after it was sent leads until 10 s after the send, not after the
    reply; one answered after the 10 s deadline does not lead at all."""
    async def scenario() -> None:
        async with emulated() as emu:
            clock = VirtualClock()
            a = Replica("a", emu, clock, 0.0)
            a.client.holding = True
            await a.start_round()
            clock.now += 3.0
            await a.finish_round()
            assert a.elector.is_leader()
            clock.now = LEASE["renew_deadline"] - 0.01
            assert a.elector.is_leader()
            clock.now = LEASE["renew_deadline"]
            assert not a.elector.is_leader()
            a.client.holding = True
            sent = clock.now
            await a.start_round()
            clock.now = sent + LEASE["renew_deadline"] + 0.5
            await a.finish_round()
            assert not a.elector.is_leader() and not await a.write()
            await a.client.close()
    run(scenario)


def _rewrite_lease(emulator: Emulator, holder: str) -> None:
    lease = emulator.get("leases", "corral-scheduler", "kube-system", "coordination.k8s.io")
    assert lease is not None
    spec = dict(lease["spec"], holderIdentity=holder,
                renewTime="2100-01-01T00:00:00.000000Z")
    emulator.update({**lease, "spec": spec})


@pytest.mark.parametrize("how", ["another holder", "our name, another writer",
                                 "written between our read and our update"])
def test_a_leader_that_sees_the_lease_changed_steps_down_at_once(how: str) -> None:
    """Well inside its renew deadline, a leader that reads another holder with a newer record
    (or a record it did not write, or loses its update to a 409) stops writing at once."""
    async def scenario() -> None:
        async with emulated() as emu:
            clock = VirtualClock()
            a = Replica("a", emu, clock, 0.0)
            await a.start_round()
            assert a.elector.is_leader() and await a.write()
            clock.now += LEASE["retry"]
            if how == "another holder":
                _rewrite_lease(emu, "c")
            elif how == "our name, another writer":
                _rewrite_lease(emu, "a")
            else:
                def slip_in() -> None:
                    a.client.after_lease_read = None
                    _rewrite_lease(emu, "c")
                a.client.after_lease_read = slip_in
            await a.start_round()
            assert not a.elector.is_leader()
            assert not await a.write()
            await a.client.close()
    run(scenario)


def test_after_kill_9_the_standby_takes_over_once_the_lease_duration_has_passed() -> None:
    """A leader that dies without releasing: the standby leads on its first round a whole
    lease duration after it first saw the last record, not before."""
    async def scenario() -> None:
        async with emulated() as emu:
            clock, a, b, timeline = await two_replicas(emu)
            await b.start_round()
            first_seen = clock.now
            timeline.paused.add("a")
            await timeline.run_until(first_seen + LEASE["lease_duration"] - STEP_S)
            assert not b.elector.is_leader()
            await timeline.run_until(first_seen + LEASE["lease_duration"] + LEASE["retry"])
            assert b.elector.is_leader()
            assert first_seen + LEASE["lease_duration"] <= timeline.took_over["b"]
            for client in (a.client, b.client):
                await client.close()
    run(scenario)


def test_a_leader_shut_down_releases_the_lease_and_the_standby_leads_on_its_next_round() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            clock = VirtualClock()
            a = Replica("a", emu, clock, 0.0)
            b = Replica("b", emu, clock, 1000.0)
            task = asyncio.create_task(a.elector.run())
            await a.elector.changed.wait()
            assert a.elector.is_leader()
            await b.start_round()
            assert not b.elector.is_leader()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not a.elector.is_leader()
            await b.start_round()
            assert b.elector.is_leader()
            for client in (a.client, b.client):
                await client.close()
    run(scenario)


def test_a_binding_the_fence_refuses_leaves_the_pod_pending_for_the_next_leader() -> None:
    """A cycle that began while its replica led (its applier's own check passed) sends its
    binding after leadership lapsed: the fence refuses it, nothing is bound or announced, and
    the pod waits until the next leader binds it."""
    fast = {"leader_elect": True, "lease_duration_s": 1.5, "renew_deadline_s": 1.0,
            "retry_s": 0.1}

    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            async with live(emu, identity="a", **fast) as a:
                await until(a.is_leader)
                send = a.client._send

                async def cut_off(method: str, path: str, *args: Any) -> Any:
                    if "/leases" in path:
                        raise ApiError(0, "Unreachable", "cut off by the test")
                    return await send(method, path, *args)

                a.client._send = cut_off  # type: ignore[method-assign]
                a.applier.is_leader = lambda: True  # checked before the pause, say
                await until(lambda: not a.is_leader())
                emu.create(pod("p", 1))
                await until(lambda: "pod/default/p" in set(a.cache.pending_units()))
                await a.run_cycle()
                await a.settle()
                assert a.stats.started == 1 and not emu.bindings
                assert a.cache.unbound_pod("default/p") is not None
                assert not emu.objects("events")
                async with live(emu, identity="b", **fast) as b:
                    await until(lambda: "default/p" in bound_to(emu))
                    assert b.stats.started == 1
            assert emu.bindings == [("default/p", "n0")]
    run(scenario)
