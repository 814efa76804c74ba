"""Two replicas share one Lease; jobs that end become job-history rows a simulation replays."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

from k8s_builders import bound_to, emulated, kill, live, node, pod, podgroup, run, until

from corral.history import HistoryStore
from corral.history.trace_export import write_trace
from corral.k8s.client import ApiError
from corral.k8s.loop import LiveScheduler
from corral.k8s.pods import pod_from_api
from corral.k8s.status_report import summarise
from corral.traces import read_trace

FAST_LEASE = {"leader_elect": True, "lease_duration_s": 1.5, "renew_deadline_s": 1.0,
              "retry_s": 0.1}


def cut_off_from_the_lease(scheduler: LiveScheduler) -> Callable[[], None]:
    """Make the Lease unreachable to *scheduler* (its other requests still go through), as a
    stalled renewal would; the returned function heals it."""
    client = scheduler.client
    send = client._send

    async def partitioned(method: str, path: str, *args: Any) -> Any:
        if "/leases" in path:
            raise ApiError(0, "Unreachable", f"{method} {path}: cut off by the test")
        return await send(method, path, *args)

    client._send = partitioned  # type: ignore[method-assign]
    return lambda: delattr(client, "_send")


def test_two_replicas_never_both_lead_and_the_standby_takes_over() -> None:
    """The leader binds; cut off from the Lease, it stops leading before the standby takes
    over, and binds nothing more even once it can read the Lease again; when the new leader
    shuts down it hands the Lease back at once."""
    async def never_both(a: LiveScheduler, b: LiveScheduler) -> None:
        for _ in range(20):
            assert not (a.is_leader() and b.is_leader())
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            async with live(emu, identity="a", **FAST_LEASE) as a, \
                    live(emu, identity="b", **FAST_LEASE) as b:
                await until(lambda: a.is_leader() or b.is_leader())
                await never_both(a, b)
                leader, standby = (a, b) if a.is_leader() else (b, a)
                emu.create(pod("p1", 1))
                await until(lambda: "default/p1" in bound_to(emu))
                assert (leader.stats.started, standby.stats.started) == (1, 0)
                heal = cut_off_from_the_lease(leader)
                await until(standby.is_leader, timeout=10)
                assert not leader.is_leader()
                emu.create(pod("p2", 1))
                await until(lambda: "default/p2" in bound_to(emu))
                heal()
                await never_both(a, b)
                assert (leader.stats.started, standby.stats.started) == (1, 1)
                await kill(standby)
                await until(leader.is_leader, timeout=10)
                emu.create(pod("p3", 1))
                await until(lambda: "default/p3" in bound_to(emu))
                assert (leader.stats.started, standby.stats.started) == (2, 1)
            assert len(emu.bindings) == 3 and emu.binding_conflicts == 0
    run(scenario)


def test_ended_jobs_are_written_to_history_and_export_as_a_replayable_trace(tmp_path) -> None:
    async def scenario() -> HistoryStore:
        store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
        async with emulated() as emu:
            emu.create(node("n0", 8, "H100"))
            emu.create(podgroup("g", 2))
            for i in range(2):
                emu.create(pod(f"g-{i}", 2, group="g", queue="team-a"))
            emu.create(pod("solo", 1, namespace="ada",  # the user is the namespace, not a label
                           labels={"corral.dev/user": "someone-else"}))
            async with live(emu, history=store) as scheduler:
                await until(lambda: len(bound_to(emu)) == 3)
                await scheduler.settle()
                for name, phase in (("g-0", "Succeeded"), ("g-1", "Failed"),
                                    ("solo", "Succeeded")):
                    obj = emu.get("pods", name, "ada" if name == "solo" else "default")
                    obj["status"]["phase"] = phase
                    emu.update(obj)
                assert scheduler.history is not None
                await until(lambda: len(scheduler.history.buffer) == 2)
                scheduler.history.flush()
        return store

    store_box: list[HistoryStore] = []

    async def keep() -> None:
        store_box.append(await scenario())

    run(keep)
    store = store_box[0]
    rows = {r["job_id"]: r for r in store.attempts()}
    assert set(rows) == {"default/g", "ada/solo"}
    assert (rows["default/g"]["tasks"], rows["default/g"]["gpu_milli"],
            rows["default/g"]["outcome"], rows["default/g"]["queue"],
            rows["default/g"]["gpu_type"]) == (2, 2000, "failed", "team-a", "H100")
    assert (rows["ada/solo"]["user"], rows["ada/solo"]["outcome"]) == ("ada", "completed")
    out = io.StringIO()
    assert write_trace(store.attempts(), out) == 2
    trace_file = tmp_path / "exported.csv"
    trace_file.write_text(out.getvalue())
    trace = read_trace(trace_file)
    assert trace.format == "corral-history"
    assert sorted((j.tasks, j.gpu_milli) for j in trace.jobs) == [(1, 1000), (2, 2000)]
    store.close()


def test_status_report_shows_use_against_quota_and_why_pods_wait() -> None:
    queues = [{"metadata": {"name": "team-a"},
               "spec": {"quota": {"nvidia.com/gpu": "4"}, "borrowingLimit": {
                   "nvidia.com/gpu": "0"}}}]
    pods = [pod("run", 2, queue="team-a", node_name="n0"),
            pod("wait", 4, queue="team-a"), pod("theirs", 1, scheduler="default-scheduler")]
    for obj in pods:
        obj["metadata"]["namespace"] = "default"
    events = [{"reason": "CorralWaiting", "message": "queue team-a over quota",
               "lastTimestamp": "2030-01-01T00:00:00Z",
               "involvedObject": {"kind": "Pod", "namespace": "default", "name": "wait"}}]
    report = summarise(queues, pods, events)
    row = report.queues[0]
    assert (row.name, row.quota_gpus, row.borrowing_gpus, row.used_gpus, row.running_pods,
            row.pending_pods) == ("team-a", 4.0, 0.0, 2.0, 1, 1)
    assert report.reasons == [("queue team-a over quota", 1, "default/wait")]
    assert pod_from_api(pods[2]).scheduler == "default-scheduler"


def test_status_report_falls_back_to_the_pod_scheduled_condition_once_events_expire() -> None:
    waiting = pod("wait", 1)
    waiting["metadata"]["namespace"] = "default"
    waiting["status"] = {"conditions": [{"type": "PodScheduled", "status": "False",
                                         "reason": "Unschedulable",
                                         "message": "0/3 nodes are available: ..."}]}
    report = summarise([], [waiting], [])
    assert report.reasons == [("0/3 nodes are available: ...", 1, "default/wait")]
