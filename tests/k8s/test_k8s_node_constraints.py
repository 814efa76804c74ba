"""End to end against the API emulator: node selectors, required node affinity and tolerations
decide where pods go; pods that can go nowhere say why, in Events and their PodScheduled
condition."""

from __future__ import annotations

from typing import Any

from k8s_builders import bound_to, emulated, live, node, pod, podgroup, run, until

from corral.k8s import conventions as names

TAINT = {"taints": [{"key": "dedicated", "value": "infer", "effect": "NoSchedule"}]}


def _required(*expressions: dict[str, Any], fields: bool = False) -> dict[str, Any]:
    term = {"matchFields" if fields else "matchExpressions": list(expressions)}
    return {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}}


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": list(values)}


def _messages(emu, reason: str, pod_name: str) -> list[str]:
    return [e["message"] for e in emu.objects("events")
            if e["reason"] == reason and e["involvedObject"]["name"] == pod_name]


def _scheduled_condition(emu, pod_name: str) -> dict[str, Any] | None:
    obj = emu.get("pods", pod_name, "default")
    return next((c for c in (obj.get("status") or {}).get("conditions") or ()
                 if c["type"] == names.POD_SCHEDULED), None)


SPECS = {
    "selector": ({"nodeSelector": {"zone": "b"}}, "n-b"),
    "in": (_required(_expr("zone", "In", "a")), "n-a"),
    "notin": (_required(_expr("zone", "NotIn", "a", "b", "d")), "n-c"),
    "exists": (_required(_expr("zone", "Exists"), _expr("cores", "DoesNotExist")), "n-d"),
    "gt": (_required(_expr("cores", "Gt", "40")), "n-a"),
    "lt": (_required(_expr("cores", "Lt", "20")), "n-b"),
    "fields": (_required(_expr("metadata.name", "In", "n-c"), fields=True), "n-c"),
}


def test_selectors_and_each_affinity_operator_put_pods_only_on_matching_nodes() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n-a", labels={"zone": "a", "cores": "64"}))
            emu.create(node("n-b", labels={"zone": "b", "cores": "16"}))
            emu.create(node("n-c", labels={"cores": "32"}))
            emu.create(node("n-d", labels={"zone": "d"}))
            for kind, (spec, _) in SPECS.items():
                for i in range(3):
                    emu.create(pod(f"{kind}-{i}", 1, spec=spec))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 3 * len(SPECS))
                await scheduler.settle()
            bound = bound_to(emu)
            for kind, (_, where) in SPECS.items():
                assert {bound[f"default/{kind}-{i}"] for i in range(3)} == {where}, kind
    run(scenario)


def test_a_toleration_opens_a_tainted_node_and_pods_that_fit_nowhere_say_why() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("plain", 2, labels={"zone": "a"}))
            emu.create(node("tainted", 8, spec=TAINT))
            tolerate = {"tolerations": [{"key": "dedicated", "operator": "Equal",
                                         "value": "infer", "effect": "NoSchedule"}]}
            emu.create(pod("tolerant", 8, spec=tolerate))
            emu.create(pod("intolerant", 8))
            emu.create(pod("elsewhere", 1, spec={"nodeSelector": {"zone": "b"}}))
            async with live(emu) as scheduler:
                await until(lambda: "default/tolerant" in bound_to(emu))
                await until(lambda: _scheduled_condition(emu, "elsewhere") is not None and
                            _scheduled_condition(emu, "intolerant") is not None)
                await scheduler.settle()
            assert bound_to(emu) == {"default/tolerant": "tainted"}
            nowhere = ("0/2 nodes are available: 1 node(s) didn't match Pod's node "
                       "affinity/selector, 1 node(s) had untolerated taint {dedicated: infer}.")
            assert _messages(emu, names.EVENT_WAITING, "elsewhere") == [nowhere]
            condition = _scheduled_condition(emu, "elsewhere")
            assert condition is not None and (condition["status"], condition["reason"],
                                              condition["message"]) == \
                ("False", names.UNSCHEDULABLE, nowhere)
            too_big = _scheduled_condition(emu, "intolerant")
            assert too_big is not None and too_big["reason"] == names.UNSCHEDULABLE
            assert too_big["message"].endswith(
                "1/2 nodes eligible (1 node(s) had untolerated taint {dedicated: infer})")
    run(scenario)


def test_a_malformed_affinity_is_reported_and_the_rest_are_scheduled() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0", labels={"cores": "64"}))
            emu.create(pod("bad", 1, spec=_required(_expr("cores", "Gt", "lots"))))
            emu.create(pod("good", 1, spec=_required(_expr("cores", "Gt", "8"))))
            async with live(emu) as scheduler:
                await until(lambda: _scheduled_condition(emu, "bad") is not None)
                await until(lambda: "default/good" in bound_to(emu))
                await scheduler.settle()
            assert "default/bad" not in bound_to(emu)
            [message] = _messages(emu, names.EVENT_BAD_SPEC, "bad")
            assert "default/bad" in message and \
                "nodeSelectorTerms[0].matchExpressions[0].values" in message
            condition = _scheduled_condition(emu, "bad")
            assert condition is not None and condition["reason"] == names.SCHEDULER_ERROR
    run(scenario)


def test_a_node_labelled_later_takes_the_pod_that_waited_for_it_and_its_condition_clears(
) -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("n0"))
            emu.create(pod("waiter", 1, spec={"nodeSelector": {"zone": "x"}}))
            async with live(emu) as scheduler:
                await until(lambda: _scheduled_condition(emu, "waiter") is not None)
                labelled = emu.get("nodes", "n0")
                labelled["metadata"]["labels"]["zone"] = "x"
                emu.update(labelled)
                await until(lambda: "default/waiter" in bound_to(emu))
                await scheduler.settle()
            condition = _scheduled_condition(emu, "waiter")
            assert condition is not None and condition["status"] == "True"
    run(scenario)


def test_gang_members_with_different_selectors_share_the_nodes_that_suit_both() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(node("zone-only", labels={"zone": "a"}))
            emu.create(node("both", labels={"zone": "a", "tier": "gold"}))
            emu.create(node("tier-only", labels={"tier": "gold"}))
            emu.create(podgroup("g", 2))
            emu.create(pod("g-0", 2, group="g", spec={"nodeSelector": {"zone": "a"}}))
            emu.create(pod("g-1", 2, group="g", spec={"nodeSelector": {"tier": "gold"}}))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 2)
                await scheduler.settle()
            assert set(bound_to(emu).values()) == {"both"}
    run(scenario)
