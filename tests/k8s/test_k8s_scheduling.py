"""End to end against the API emulator: gangs, failures, restarts, quotas, sharing, events."""

from __future__ import annotations

import asyncio

import aiohttp
from k8s_builders import (
    bound_to,
    emulated,
    full_node_of_low_priority_gang,
    gpus_used,
    live,
    node,
    pod,
    podgroup,
    queue,
    run,
    until,
)

from corral.k8s import conventions as names


def _events(emu, reason: str) -> list[str]:
    return [e["message"] for e in emu.objects("events") if e["reason"] == reason]


def test_gang_is_bound_whole_or_not_at_all_and_waiting_gangs_say_why() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            for i in range(2):
                emu.create(node(f"n{i}", 8))
            emu.create(podgroup("fits", 4))
            emu.create(podgroup("huge", 8))
            emu.create(podgroup("short", 4))
            for i in range(4):
                emu.create(pod(f"fits-{i}", 2, group="fits"))
            for i in range(8):
                emu.create(pod(f"huge-{i}", 4, group="huge"))
            for i in range(2):
                emu.create(pod(f"short-{i}", 1, group="short"))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 4)
                await until(lambda: any("can never fit" in m
                                        for m in _events(emu, names.EVENT_WAITING)))
                await scheduler.settle()
            bound = bound_to(emu)
            assert sorted(bound) == [f"default/fits-{i}" for i in range(4)]
            waiting = _events(emu, names.EVENT_WAITING)
            assert any("2/4 pods created" in m for m in waiting)
            assert any(m.startswith("can never fit: gang default/huge") and
                       "placeable: needs 8 x 4 GPUs, largest fit" in m for m in waiting)
            assert all(used <= 8 for used in gpus_used(emu).values())
    run(scenario)


def test_a_gang_starts_with_its_minimum_and_the_rest_follow_as_they_fit() -> None:
    """minMember 2 of 4 pods of 4 GPUs: the two oldest start on the one 8-GPU node (the whole
    gang never would); the other two start once a second node joins."""
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            emu.create(podgroup("elastic", 2))
            for i in range(4):
                emu.create(pod(f"elastic-{i}", 4, group="elastic"))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 2)
                await scheduler.settle()
                assert sorted(bound_to(emu)) == ["default/elastic-0", "default/elastic-1"]
                emu.create(node("n1", 8))
                await until(lambda: len(bound_to(emu)) == 4)
                await scheduler.settle()
            assert gpus_used(emu) == {"n0": 8, "n1": 8}
    run(scenario)


def _record_starts(scheduler) -> dict[int, list[str]]:
    """Cycle number -> the pods assumed in that cycle, filled as the scheduler runs."""
    starts: dict[int, list[str]] = {}
    assume = scheduler.cache.assume

    def recording(job_id, placement, now):
        work = assume(job_id, placement, now)
        starts.setdefault(scheduler.stats.cycles, []).extend(b.pod.name for b in work.bindings)
        return work

    scheduler.cache.assume = recording
    return starts


def _gang_with_extras(emu, gpus: int) -> None:
    """Gang ``wide`` (minMember 2, six pods of 1 GPU) on one node of *gpus* GPUs; the pods
    exist before the scheduler starts, the PodGroup is created later (nothing starts before)."""
    emu.create(node("n0", gpus))
    for i in range(6):
        emu.create(pod(f"wide-{i}", 1, group="wide"))


def test_members_beyond_the_minimum_start_together_in_the_next_cycle() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            _gang_with_extras(emu, 8)
            async with live(emu) as scheduler:
                starts = _record_starts(scheduler)
                emu.create(podgroup("wide", 2))
                await until(lambda: len(bound_to(emu)) == 6)
                await scheduler.settle()
            assert len(starts) == 2, f"pods started per cycle: {starts}"
            first, then = sorted(starts)
            assert then == first + 1
            assert sorted(starts[first]) == ["wide-0", "wide-1"]
            assert sorted(starts[then]) == [f"wide-{i}" for i in range(2, 6)]
            assert gpus_used(emu) == {"n0": 6}
    run(scenario)


def test_members_beyond_the_minimum_start_as_they_fit_and_the_rest_say_why() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            _gang_with_extras(emu, 4)
            async with live(emu) as scheduler:
                starts = _record_starts(scheduler)
                emu.create(podgroup("wide", 2))
                await until(lambda: len(bound_to(emu)) == 4)
                await until(lambda: {"wide-4", "wide-5"} <= {
                    e["involvedObject"]["name"] for e in emu.objects("events")
                    if e["reason"] == names.EVENT_WAITING})
                await scheduler.settle()
                waiting = scheduler.status()["waiting"]
            assert len(starts) == 2, f"pods started per cycle: {starts}"
            first, then = sorted(starts)
            assert then == first + 1
            assert sorted(starts[first]) == ["wide-0", "wide-1"]
            assert sorted(starts[then]) == ["wide-2", "wide-3"]
            assert sorted(bound_to(emu)) == [f"default/wide-{i}" for i in range(4)]
            assert sorted(waiting) == [f"gang/scheduler-plugins/default/wide#pod/wide-{i}"
                                       for i in (4, 5)]
            assert all(waiting.values())
    run(scenario)


def test_a_gang_that_falls_below_its_minimum_takes_its_extra_members_back() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 3))
            for i in range(6):
                emu.create(pod(f"wide-{i}", 1, group="wide"))
            emu.create(podgroup("wide", 3))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 3)
                await until(lambda: sorted(scheduler.status()["waiting"]) == [
                    f"gang/scheduler-plugins/default/wide#pod/wide-{i}" for i in (3, 4, 5)])
                assert sum(scheduler.status()["pending"].values()) == 3  # a job apiece
                # Another scheduler's pod takes the GPUs two running members free as they end:
                # the gang is below its minimum again, its pending members one job again.
                emu.create(pod("hog", 2, scheduler="default-scheduler", node_name="n0"))
                emu.delete("pods", "wide-0", "default")
                emu.delete("pods", "wide-1", "default")
                await until(lambda: sum(scheduler.status()["pending"].values()) == 1)
                # Once it ends, two of them restore the minimum together; the last is extra.
                emu.delete("pods", "hog", "default")
                await until(lambda: len(bound_to(emu)) == 3)
                await until(lambda: list(scheduler.status()["waiting"]) == [
                    "gang/scheduler-plugins/default/wide#pod/wide-5"])
            assert sorted(bound_to(emu)) == [f"default/wide-{i}" for i in (2, 3, 4)]
            assert gpus_used(emu) == {"n0": 3}
    run(scenario)


def test_a_member_that_cannot_be_bound_gets_its_gang_undone_after_the_timeout() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            emu.create(podgroup("g", 3, timeout_s=1))
            for i in range(3):
                emu.create(pod(f"g-{i}", 1, group="g"))
            emu.binding_faults.append(lambda ns, name, node: 500 if name == "g-2" else None)
            async with live(emu) as scheduler:
                await until(lambda: len(emu.evictions) == 2, timeout=15)
                await scheduler.settle()
            assert sorted(emu.evictions) == ["default/g-0", "default/g-1"]
            assert bound_to(emu) == {}
            assert any("only 2/3 members bound" in m
                       for m in _events(emu, names.EVENT_GANG_UNDONE))
    run(scenario)


def test_a_pod_bound_by_someone_else_mid_cycle_is_not_an_error() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            emu.create(node("n1", 8))
            emu.create(pod("contested", 8))
            emu.create(pod("other", 8))

            def someone_else_first(ns: str, name: str, target: str) -> None:
                if name == "contested":  # another scheduler binds it to a node Corral ignores
                    stolen = emu.get("pods", name, ns)
                    stolen["spec"]["nodeName"] = "elsewhere"
                    emu.update(stolen)
                    emu.binding_faults.clear()

            emu.binding_faults.append(someone_else_first)
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 2)
                await scheduler.settle()
            assert emu.binding_conflicts == 1
            assert _events(emu, names.EVENT_BIND_FAILED) == []
            assert bound_to(emu)["default/contested"] == "elsewhere"
            assert bound_to(emu)["default/other"] in ("n0", "n1")
    run(scenario)


def test_a_watch_that_cannot_resume_relists_and_sees_what_it_missed() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            emu.create(pod("before", 8))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 1)
                # No await between these: the watches cannot resume before the history is gone.
                emu.drop_watches()
                emu.delete("pods", "before", "default")
                emu.create(pod("after", 8))
                emu.compact()
                await until(lambda: "default/after" in bound_to(emu))
                relists = scheduler.metrics.relists.labels("pods")._value.get()
            assert relists >= 1
    run(scenario)


def test_a_restarted_scheduler_rebuilds_from_the_api_and_never_double_binds() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            for i in range(4):
                emu.create(pod(f"first-{i}", 2))
            async with live(emu) as first:
                await until(lambda: len(bound_to(emu)) == 4)
                await first.settle()
            emu.create(node("n1", 2))
            for i in range(3):
                emu.create(pod(f"second-{i}", 2))
            emu.create(pod("foreign", 0, scheduler="default-scheduler", node_name="n1",
                           limits={"nvidia.com/gpu": "0"}))
            async with live(emu) as second:
                await until(lambda: len(bound_to(emu)) == 6)
                await asyncio.sleep(0.5)  # several more cycles: nothing else may be bound
                await second.settle()
            assert len(bound_to(emu)) == 6
            assert emu.binding_conflicts == 0
            assert len(emu.bindings) == len({p for p, _ in emu.bindings}) == 5
            assert gpus_used(emu) == {"n0": 8, "n1": 2}
    run(scenario)


def test_queue_quota_is_respected_and_the_reason_names_the_queue() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            for i in range(2):
                emu.create(node(f"n{i}", 8))
            emu.create(queue("team-a", 4, borrowing=0))
            emu.create(queue("team-b", 12))
            for i in range(6):
                emu.create(pod(f"a-{i}", 1, queue="team-a"))
            emu.create(pod("lost", 1, queue="no-such-queue"))
            emu.create(pod("b-0", 2, queue="team-b"))
            async with live(emu, "corral") as scheduler:
                await until(lambda: len(bound_to(emu)) == 5)
                await until(lambda: len(_events(emu, names.EVENT_WAITING)) >= 2)
                await until(lambda: bool(_events(emu, names.EVENT_BAD_SPEC)))
                await asyncio.sleep(0.3)
                await scheduler.settle()
            bound = bound_to(emu)
            assert sum(1 for k in bound if k.startswith("default/a-")) == 4
            assert "default/b-0" in bound and "default/lost" not in bound
            waiting = _events(emu, names.EVENT_WAITING)
            assert any("team-a" in m for m in waiting)
            assert any("unknown queue 'no-such-queue'" in m
                       for m in _events(emu, names.EVENT_BAD_SPEC))
    run(scenario)


def test_fractional_pods_get_their_gpu_with_the_binding_and_their_share_on_status() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 2, gpu_memory_mib=40960))
            for i in range(3):
                emu.create(pod(f"f{i}", limits={names.SHARE_RESOURCE: "1"},
                               annotations={names.FRACTION: "0.5"}))
            async with live(emu, "fgd") as scheduler:
                await until(lambda: len(bound_to(emu)) == 3)
                await scheduler.settle()
            pods = {p["metadata"]["name"]: p for p in emu.objects("pods")}
            calls = emu.calls
        assert ("", "pods", "patch") not in calls  # the placement travels with the binding
        for obj in pods.values():
            annotations = obj["metadata"]["annotations"]
            assert annotations[names.GPU_MILLI] == "500"
            assert annotations[names.GPU_MEMORY_MIB] == "20480"
            assert annotations[names.ASSIGNED_NODE] == "n0"
            booked = [c for c in obj["status"]["conditions"]
                      if c["type"] == names.BOOKED_CONDITION]
            assert booked and booked[0]["message"] == (
                f"gpu-milli=500 gpu-memory-mib=0 gpu-index={annotations[names.GPU_INDEX]}")
        indices = sorted(p["metadata"]["annotations"][names.GPU_INDEX] for p in pods.values())
        assert indices.count("0") <= 2 and indices.count("1") <= 2
    run(scenario)


def test_preemption_evicts_the_whole_victim_before_the_preemptor_binds() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            full_node_of_low_priority_gang(emu)
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 2)
                emu.create(pod("high", 8, priority=100))
                await until(lambda: bound_to(emu).get("default/high") == "n0")
                await scheduler.settle()
                preemptions = scheduler.metrics.preemptions._value.get()
            assert sorted(emu.evictions) == ["default/low-0", "default/low-1"]
            assert preemptions == 1
            assert any("preempted" in m.lower() for m in _events(emu, names.EVENT_PREEMPTED))
    run(scenario)


def test_a_malformed_pod_is_reported_and_everything_else_still_served() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            bad_node = node("n-bad")
            bad_node["status"]["allocatable"]["cpu"] = "lots"
            emu.create(bad_node)
            emu.create(pod("bad", limits={"nvidia.com/gpu": "two"}))
            emu.create(pod("good", 1))
            async with live(emu) as scheduler:
                await until(lambda: "default/good" in bound_to(emu))
                await until(lambda: bool(_events(emu, names.EVENT_BAD_SPEC)))
                await scheduler.settle()
                problems = dict(scheduler.cache.problems)
            assert "default/bad" not in bound_to(emu)
            assert any("nvidia.com/gpu" in m for m in _events(emu, names.EVENT_BAD_SPEC))
            assert "node n-bad" in problems["node/n-bad"]
    run(scenario)


def test_metrics_endpoint_serves_bindings_cycles_and_allocation() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8, "A100"))
            emu.create(pod("p", 2))
            async with live(emu) as scheduler:
                runner = await scheduler.serve("127.0.0.1", 0)
                try:
                    port = runner.addresses[0][1]
                    await until(lambda: len(bound_to(emu)) == 1)
                    await scheduler.settle()
                    await asyncio.sleep(0.3)
                    async with aiohttp.ClientSession() as session, \
                            session.get(f"http://127.0.0.1:{port}/metrics") as response:
                        text = await response.text()
                finally:
                    await runner.cleanup()
            assert 'corral_bindings_total{result="bound"} 1.0' in text
            assert "corral_cycle_duration_seconds_count" in text
            assert 'corral_gpu_allocated{gpu_type="A100"} 2.0' in text
            assert 'corral_gpu_capacity{gpu_type="A100"} 8.0' in text
    run(scenario)
