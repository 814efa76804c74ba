"""End to end against the API emulator: required pod affinity, anti-affinity and topology spread
decide where pods go, also between pods placed in one cycle and among a gang's members; pods
that fit nowhere say why, and a malformed rule is reported while the rest are scheduled."""

from __future__ import annotations

from collections import Counter
from typing import Any

from k8s_builders import bound_to, emulated, live, node, pod, podgroup, run, until

from corral.k8s import conventions as names

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def _node(name: str, zone: str = "", gpus: int = 8) -> dict[str, Any]:
    return node(name, gpus, labels={HOST: name, **({ZONE: zone} if zone else {})})


def _rule(kind: str, key: str = HOST, **labels: str) -> dict[str, Any]:
    term = {"labelSelector": {"matchLabels": labels}, "topologyKey": key}
    return {"affinity": {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}


def _condition_message(emu, pod_name: str) -> str:
    obj = emu.get("pods", pod_name, "default")
    return next((c["message"] for c in (obj.get("status") or {}).get("conditions") or ()
                 if c["type"] == names.POD_SCHEDULED and c["status"] == "False"), "")


def test_anti_affine_replicas_created_together_land_on_distinct_nodes_and_the_extra_waits(
) -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            for i in range(3):
                emu.create(_node(f"n{i}"))
            apart = _rule("podAntiAffinity", app="web")
            for i in range(4):  # best fit would pack all four onto one node
                emu.create(pod(f"web-{i}", 1, labels={"app": "web"}, spec=apart))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 3)
                await until(lambda: _condition_message(emu, "web-3") == (
                    "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."))
                await scheduler.settle()
            assert sorted(bound_to(emu).values()) == ["n0", "n1", "n2"]
    run(scenario)


def test_affinity_joins_an_existing_pod_and_a_self_affine_first_pod_starts() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            for i, zone in enumerate("aabb"):
                emu.create(_node(f"n{i}", zone))
            emu.create(pod("cache", 0, scheduler="default-scheduler", node_name="n3",
                           labels={"app": "cache"}))
            emu.create(pod("client", 1, spec=_rule("podAffinity", app="cache")))
            together = _rule("podAffinity", ZONE, app="grp")
            for i in range(3):
                emu.create(pod(f"grp-{i}", 1, labels={"app": "grp"}, spec=together))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 5)
                await scheduler.settle()
            bound = bound_to(emu)
            assert bound["default/client"] == "n3"
            zones = {"n0": "a", "n1": "a", "n2": "b", "n3": "b"}
            assert len({zones[bound[f"default/grp-{i}"]] for i in range(3)}) == 1
    run(scenario)


def test_spread_with_max_skew_one_puts_two_pods_in_each_of_three_zones() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            for i, zone in enumerate("abc"):
                emu.create(_node(f"n{i}", zone))
            emu.create(_node("no-zone"))  # without the key: never eligible
            spread = {"topologySpreadConstraints": [{
                "maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "s"}}}]}
            for i in range(6):
                emu.create(pod(f"s-{i}", 1, labels={"app": "s"}, spec=spread))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 6)
                await scheduler.settle()
            assert Counter(bound_to(emu).values()) == {"n0": 2, "n1": 2, "n2": 2}
    run(scenario)


def test_an_existing_pods_anti_affinity_repels_a_new_matching_pod() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(_node("n0"))
            emu.create(_node("n1"))
            # A pod kube-scheduler bound, which wants no "noisy" pod beside it; n0 is the
            # tighter node, so best fit would pick it.
            emu.create(pod("loner", 4, scheduler="default-scheduler", node_name="n0",
                           spec=_rule("podAntiAffinity", app="noisy")))
            emu.create(pod("noisy", 1, labels={"app": "noisy"}))
            emu.create(pod("quiet", 1, labels={"app": "quiet"}))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 3)
                await scheduler.settle()
            bound = bound_to(emu)
            assert (bound["default/noisy"], bound["default/quiet"]) == ("n1", "n0")
    run(scenario)


def test_a_malformed_rule_is_reported_and_the_scheduler_serves_the_rest() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            emu.create(_node("n0"))
            bad = _rule("podAntiAffinity", app="x")
            bad["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
                0]["namespaceSelector"] = {"matchLabels": {"team": "a"}}
            emu.create(pod("bad", 1, spec=bad))
            emu.create(pod("good", 1, spec=_rule("podAntiAffinity", app="x")))
            async with live(emu) as scheduler:
                await until(lambda: "default/good" in bound_to(emu))
                await until(lambda: any(e["reason"] == names.EVENT_BAD_SPEC
                                        for e in emu.objects("events")))
                await scheduler.settle()
            assert "default/bad" not in bound_to(emu)
            [message] = [e["message"] for e in emu.objects("events")
                         if e["reason"] == names.EVENT_BAD_SPEC
                         and e["involvedObject"]["name"] == "bad"]
            assert "podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]" \
                ".namespaceSelector" in message
    run(scenario)


def test_a_gang_whose_members_repel_each_other_binds_whole_on_distinct_nodes() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            for i in range(4):
                emu.create(_node(f"n{i}"))
            emu.create(podgroup("g", 3))
            apart = _rule("podAntiAffinity", app="g")
            for i in range(3):  # best fit and locality would pack the gang onto one node
                emu.create(pod(f"g-{i}", 1, group="g", labels={"app": "g"}, spec=apart))
            async with live(emu) as scheduler:
                await until(lambda: len(bound_to(emu)) == 3)
                await scheduler.settle()
            assert len(set(bound_to(emu).values())) == 3
    run(scenario)


def test_a_gang_whose_members_break_each_others_rules_waits_saying_why() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            for i, zone in enumerate("aab"):
                emu.create(_node(f"n{i}", zone))
            emu.create(podgroup("z", 2))
            apart = _rule("podAntiAffinity", ZONE, app="z")  # zones: not one per node
            for i in range(2):
                emu.create(pod(f"z-{i}", 1, group="z", labels={"app": "z"}, spec=apart))
            emu.create(pod("other", 1))
            async with live(emu) as scheduler:
                await until(lambda: "rule one another out" in _condition_message(emu, "z-0"))
                await until(lambda: "default/other" in bound_to(emu))
                cycles = scheduler.stats.cycles
                await until(lambda: scheduler.stats.cycles > cycles + 3)
                await scheduler.settle()
                assert scheduler.cache.held_back  # held, not placed and refused every cycle
            assert set(bound_to(emu)) == {"default/other"}
    run(scenario)
