"""The live dispatcher against a manager and workers as in-process API emulators.

A job submitted once runs in exactly one worker: a worker cut off mid-run keeps the job until
its lease (and the copy's own deadline) ends, then the job moves and the stale copy is
withdrawn; a dispatcher killed between its two writes and started afresh resumes from the
manager's API state; two dispatchers racing dispatch each job once.
"""

from __future__ import annotations

import asyncio

import pytest
from dispatch_builders import (
    EPOCH,
    SETTINGS,
    Clock,
    clusters,
    copies,
    job,
    set_status,
)

from corral.dispatcher.dispatch_lease import GENERATION, PHASE, DispatchLease
from corral.dispatcher.dispatcher import Dispatcher
from corral.k8s.client import ApiError, KubeClient
from corral.k8s.testing.emulator import Emulator


def run(test) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(asyncio.wait_for(test(), 60))


def leases(manager: Emulator) -> dict[str, DispatchLease]:
    found = (DispatchLease.from_object(o) for o in manager.objects("leases",
                                                                   "coordination.k8s.io"))
    return {lease.job: lease for lease in found if lease is not None}


def holders(workers: list[Emulator]) -> dict[str, list[str]]:
    """namespace/name -> the workers holding a copy of it."""
    held: dict[str, list[str]] = {}
    for i, worker in enumerate(workers):
        for obj in copies(worker):
            held.setdefault(f"team-a/{obj['metadata']['name']}", []).append(f"w{i}")
    return held


class Crash(Exception):
    """The dispatcher process dying at this point."""


class CrashBeforeCopy(Dispatcher):
    """Dies right after writing the *n*-th job's Lease, before copying it to its worker."""

    def __init__(self, *args, after: int, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.left = after

    async def _copy(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.left -= 1
        if self.left < 0:
            raise Crash
        await super()._copy(*args, **kwargs)


def test_worker_cut_off_mid_run_loses_no_job_and_runs_none_twice() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with clusters(16, 8) as (manager, workers):
            w0, w1 = workers
            manager.create(job("train"))
            client = KubeClient.for_url(manager.url)
            dispatcher = Dispatcher(client, SETTINGS, clock)
            await dispatcher.reconcile()
            assert holders(workers) == {"team-a/train": ["w0"]}  # w0 has more free GPUs
            # w0's Job controller starts it; the dispatcher renews the lease and the fence.
            set_status(w0, "train", {"active": 2, "startTime": clock.stamp()})
            clock.t = 10
            await dispatcher.reconcile()
            lease = leases(manager)["team-a/train"]
            assert (lease.cluster, lease.generation, lease.until) == ("w0", 1, EPOCH + 130)
            fence = copies(w0)[0]["spec"]["activeDeadlineSeconds"]
            assert EPOCH + fence <= lease.until  # the copy stops itself when its lease ends
            # Cut w0 off: inside the lease it keeps the job, nothing runs elsewhere.
            port = int(w0.url.rsplit(":", 1)[1])
            await w0.stop()
            for t in (60, 120, 155):
                clock.t = t
                await dispatcher.reconcile()
                assert holders(workers) == {"team-a/train": ["w0"]}
            # w0's own controller ends the copy at its deadline; after lease and grace the
            # job moves to w1 under generation 2.
            set_status(w0, "train", {"startTime": "x", "conditions": [
                {"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]})
            clock.t = 161
            await dispatcher.reconcile()
            assert holders(workers) == {"team-a/train": ["w0", "w1"]}
            moved = leases(manager)["team-a/train"]
            assert (moved.cluster, moved.generation) == ("w1", 2)
            assert clock() > EPOCH + fence  # the first copy had stopped before this one
            assert copies(w1)[0]["metadata"]["annotations"][GENERATION] == "2"
            # w0 answers again: its stale copy is withdrawn, w1's kept.
            await w0.start(port=port)
            clock.t = 170
            await dispatcher.reconcile()
            assert holders(workers) == {"team-a/train": ["w1"]}
            # w1 finishes it; the manager's Job shows it, and it is never dispatched again.
            set_status(w1, "train", {"succeeded": 2, "startTime": clock.stamp(), "conditions": [
                {"type": "Complete", "status": "True"}]})
            clock.t = 400
            await dispatcher.reconcile()
            clock.t = 4000
            await dispatcher.reconcile()
            notes = manager.get("jobs", "train", "team-a", "batch")["metadata"]["annotations"]
            assert notes[PHASE] == "Succeeded"
            assert leases(manager)["team-a/train"].generation == 2
            assert holders(workers) == {"team-a/train": ["w1"]}
            await dispatcher.close()
            await client.close()

    run(scenario)


def test_dispatcher_killed_between_writes_resumes_from_api_state() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with clusters(64, 64) as (manager, workers):
            for i in range(5):
                manager.create(job(f"j{i}", pods=1, gpus=4))
            client = KubeClient.for_url(manager.url)
            first = CrashBeforeCopy(client, SETTINGS, clock, after=2)
            with pytest.raises(Crash):
                await first.reconcile()
            await first.close()
            claimed = leases(manager)
            assert len(claimed) == 3 and sum(len(h) for h in holders(workers).values()) == 2
            # Capacity shifts while no dispatcher runs: a fresh choice would differ.
            workers[1].create({"apiVersion": "v1", "kind": "Node",
                               "metadata": {"name": "big"},
                               "status": {"allocatable": {"nvidia.com/gpu": "512"}}})
            second = Dispatcher(client, SETTINGS, clock)
            clock.t = 5
            await second.reconcile()
            held = holders(workers)
            assert sorted(held) == [f"team-a/j{i}" for i in range(5)]
            assert all(len(where) == 1 for where in held.values()), held
            for key, lease in claimed.items():
                assert held[key] == [lease.cluster]  # resumed where the lease says
            assert all(lease.generation == 1 for lease in leases(manager).values())
            await second.close()
            await client.close()

    run(scenario)


def test_two_dispatchers_racing_dispatch_each_job_once() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with clusters(64, 64) as (manager, workers):
            for i in range(6):
                manager.create(job(f"j{i}", pods=2, gpus=2))
            one, two = KubeClient.for_url(manager.url), KubeClient.for_url(manager.url)
            a, b = Dispatcher(one, SETTINGS, clock), Dispatcher(two, SETTINGS, clock)
            for _ in range(3):
                await asyncio.gather(a.reconcile(), b.reconcile())
                clock.t += 10
            held = holders(workers)
            assert len(held) == 6 and all(len(where) == 1 for where in held.values()), held
            for d, c in ((a, one), (b, two)):
                await d.close()
                await c.close()

    run(scenario)


class RefusingWorker(Dispatcher):
    """Every worker refuses the copy of Job ``bad`` (as an API server rejects an invalid spec)."""

    async def _copy(self, job, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if job["metadata"]["name"] == "bad":
            raise ApiError(422, "Invalid", "spec.template: invalid")
        await super()._copy(job, *args, **kwargs)


def test_a_refused_copy_holds_up_no_other_job() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with clusters(64) as (manager, workers):
            for name in ("a", "bad", "c"):
                manager.create(job(name, pods=1, gpus=1))
            client = KubeClient.for_url(manager.url)
            dispatcher = RefusingWorker(client, SETTINGS, clock)
            await dispatcher.reconcile()
            assert sorted(holders(workers)) == ["team-a/a", "team-a/c"]
            await dispatcher.close()
            await client.close()

    run(scenario)
