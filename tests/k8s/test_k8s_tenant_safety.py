"""What a tenant writes is untrusted: edits of running pods, queue labels, user labels, broken
PodGroups, nodes that cannot enforce a share, and a race with another scheduler."""

from __future__ import annotations

from k8s_builders import bound_to, emulated, kill, live, node, pod, podgroup, queue, run, until

from corral.k8s import conventions as names
from corral.k8s.pods import pod_from_api


def _events(emu, reason: str) -> list[dict]:
    return [e for e in emu.objects("events") if e["reason"] == reason]


def _share(name: str, fraction: str, namespace: str = "default") -> dict:
    return pod(name, namespace=namespace, limits={names.SHARE_RESOURCE: "1"},
               annotations={names.FRACTION: fraction})


def _edit(emu, name: str, namespace: str, **annotations: str) -> None:
    obj = emu.get("pods", name, namespace)
    obj["metadata"]["annotations"].update(annotations)
    emu.update(obj)


def test_editing_a_running_pods_share_books_nothing_more_and_is_reported() -> None:
    """Team a's 0.6 pod edited down to 0.001 (and garbage in gpu-milli) still holds 0.6 of the
    GPU, so team b's 0.6 pod does not fit beside it; the edit gets a Warning Event."""
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 1))
            emu.create(_share("a", "0.6", "team-a"))
            async with live(emu, "fgd") as scheduler:
                await until(lambda: "team-a/a" in bound_to(emu))
                await scheduler.settle()
                _edit(emu, "a", "team-a", **{names.FRACTION: "0.001",
                                             names.GPU_MILLI: "garbage"})
                emu.create(_share("b", "0.6", "team-b"))
                await until(lambda: bool(_events(emu, names.EVENT_BOOKING_EDITED)))
                await until(lambda: scheduler.stats.cycles > 5)
                await scheduler.settle()
                assert "team-b/b" not in bound_to(emu)
                assert scheduler.cache.used_gpu_milli() == {"n0": 600}
            [event] = _events(emu, names.EVENT_BOOKING_EDITED)
            assert event["involvedObject"]["name"] == "a"
            assert "0.6 GPU" in event["message"]
    run(scenario)


def test_a_restarted_scheduler_books_a_share_from_its_status_not_its_annotations() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 1))
            emu.create(_share("a", "0.6", "team-a"))
            async with live(emu, "fgd") as first:
                await until(lambda: "team-a/a" in bound_to(emu))
                await first.settle()
                await kill(first)
            _edit(emu, "a", "team-a", **{names.FRACTION: "0.001", names.GPU_MILLI: "1"})
            emu.create(_share("b", "0.6", "team-b"))
            async with live(emu, "fgd") as second:
                await until(lambda: second.stats.cycles > 5)
                await second.settle()
                assert "team-b/b" not in bound_to(emu)
                assert second.cache.used_gpu_milli() == {"n0": 600}
    run(scenario)


def test_a_queue_is_reachable_only_from_the_namespaces_it_allows() -> None:
    """A pod of team b naming team a's queue waits, saying why; team a's own pod then gets
    team a's quota."""
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 1))
            for team in ("team-a", "team-b"):
                emu.create(queue(team, 1, borrowing=0, namespaces={
                    "matchLabels": {"kubernetes.io/metadata.name": team}}))
            emu.create(queue("closed", 1))  # the builder's default selector is {}: make it nil
            closed = emu.get("queues", "closed", group="corral.dev", version="v1alpha1")
            del closed["spec"]["namespaceSelector"]
            emu.update(closed, "queues")
            emu.create(pod("thief", 1, namespace="team-b", queue="team-a"))
            emu.create(pod("nobody", 1, namespace="team-b", queue="closed"))
            async with live(emu, "corral") as scheduler:
                await until(lambda: any("may not use queue team-a" in e["message"]
                                        for e in _events(emu, names.EVENT_WAITING)))
                emu.create(pod("owner", 1, namespace="team-a", queue="team-a"))
                await until(lambda: "team-a/owner" in bound_to(emu))
                await until(lambda: any("admits no namespace" in e["message"]
                                        for e in _events(emu, names.EVENT_WAITING)))
                await scheduler.settle()
            assert set(bound_to(emu)) == {"team-a/owner"}
    run(scenario)


def test_a_namespaces_labels_open_a_queue_to_it() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 1))
            emu.create(queue("research", 1, namespaces={"matchLabels": {"org": "research"}}))
            emu.create({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": "lab", "labels": {"org": "other"}}})
            emu.create(pod("p", 1, namespace="lab", queue="research"))
            async with live(emu, "corral") as scheduler:
                await until(lambda: scheduler.stats.cycles > 3)
                assert "lab/p" not in bound_to(emu)
                lab = emu.get("namespaces", "lab")
                lab["metadata"]["labels"]["org"] = "research"
                emu.update(lab)
                await until(lambda: "lab/p" in bound_to(emu))
    run(scenario)


def test_the_fair_share_user_is_the_namespace_not_a_label() -> None:
    forged = pod_from_api(pod("p", 1, namespace="team-b", labels={"corral.dev/user": "alice"}))
    assert forged.user == "team-b"


def test_fractional_pods_go_only_to_nodes_that_enforce_shares() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("plain", 8, gpu_share=False))
            emu.create(_share("f", "0.5"))
            async with live(emu, "fgd") as scheduler:
                await until(lambda: any("Insufficient corral.dev/gpu-share" in e["message"]
                                        for e in _events(emu, names.EVENT_WAITING)))
                assert bound_to(emu) == {}
                emu.create(node("shared", 1))
                await until(lambda: bound_to(emu) == {"default/f": "shared"})
                await scheduler.settle()
    run(scenario)


def test_a_malformed_podgroup_gets_an_event_and_its_members_name_the_reason() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 8))
            emu.create(podgroup("zero", 0))
            emu.create(podgroup("late", 2, timeout_s=-5))
            emu.create(pod("z-0", 1, group="zero"))
            emu.create(pod("l-0", 1, group="late"))
            async with live(emu) as scheduler:
                await until(lambda: len(_events(emu, names.EVENT_BAD_SPEC)) >= 2)
                await until(lambda: len(_events(emu, names.EVENT_WAITING)) >= 2)
                await scheduler.settle()
            on_groups = {e["involvedObject"]["name"]: e["message"]
                         for e in _events(emu, names.EVENT_BAD_SPEC)
                         if e["involvedObject"]["kind"] == "PodGroup"}
            on_pods = {e["involvedObject"]["name"]: e["message"]
                       for e in _events(emu, names.EVENT_WAITING)}
            assert "minimum members" in on_groups["zero"]
            assert "scheduleTimeoutSeconds" in on_groups["late"]
            assert "minimum members" in on_pods["z-0"] and "not found" not in on_pods["z-0"]
            assert "scheduleTimeoutSeconds" in on_pods["l-0"]
            assert bound_to(emu) == {}
    run(scenario)


def test_reserved_nodes_take_corrals_pods_and_a_race_is_made_visible() -> None:
    """A node reserved for Corral (its taint) takes Corral's pods though they carry no
    toleration; a pod another scheduler binds onto GPUs Corral holds is reported."""
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 2, spec={"taints": [
                {"key": names.RESERVED_TAINT, "value": "corral", "effect": "NoSchedule"}]}))
            emu.create(pod("mine", 2))
            async with live(emu) as scheduler:
                await until(lambda: "default/mine" in bound_to(emu))
                emu.create(pod("intruder", 1, scheduler="default-scheduler", node_name="n0"))
                await until(lambda: bool(_events(emu, names.EVENT_OVERCOMMIT)))
                await scheduler.settle()
                conflicts = scheduler.metrics.overcommit_conflicts._value.get()
                body = scheduler.metrics.exposition().decode()
            assert conflicts == 1
            assert "corral_overcommitted_nodes 1.0" in body
            message = _events(emu, names.EVENT_OVERCOMMIT)[0]["message"]
            assert "3 of its 2 GPUs" in message
    run(scenario)


def test_lowering_a_quota_evicts_nothing_by_itself_but_others_may_reclaim_the_excess() -> None:
    """As Kueue: a queue whose quota is lowered below its use keeps its running jobs and
    admits nothing new; what it holds above the new quota is borrowed, so a queue within its
    own quota reclaims it (policy ``corral``), and nothing is evicted while no one asks."""
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", 4))
            emu.create(queue("team-a", 4))
            emu.create(queue("team-b", 0))
            for i in range(4):
                emu.create(pod(f"a-{i}", 1, queue="team-a"))
            async with live(emu, "corral") as scheduler:
                await until(lambda: len(bound_to(emu)) == 4)
                for name, gpus in (("team-a", "2"), ("team-b", "2")):
                    obj = emu.get("queues", name, group="corral.dev", version="v1alpha1")
                    obj["spec"]["quota"] = {"nvidia.com/gpu": gpus}
                    emu.update(obj, "queues")
                emu.create(pod("a-late", 1, queue="team-a"))
                await until(lambda: scheduler.stats.cycles > 8)
                assert emu.evictions == []  # lowered, but no one within quota is waiting
                emu.create(pod("b-0", 1, queue="team-b"))
                await until(lambda: len(emu.evictions) == 1)
                await until(lambda: "default/b-0" in bound_to(emu))
                await scheduler.settle()
            assert "default/a-late" not in bound_to(emu)
    run(scenario)
