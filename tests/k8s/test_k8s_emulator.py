"""The API emulator speaks the API server's semantics that the adapter relies on."""

from __future__ import annotations

import pytest
from k8s_builders import emulated, node, pod, run

from corral.k8s.client import ApiError, KubeClient, resource_path

PODS = resource_path("", "v1", "pods")


def test_watch_replays_from_a_resource_version_and_410_after_compaction() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            client = KubeClient.for_url(emu.url)
            try:
                emu.create(pod("a"))
                listed = await client.request("GET", PODS)
                version = listed["metadata"]["resourceVersion"]
                emu.create(pod("b"))
                emu.delete("pods", "a", "default")
                seen = []
                async for event in client.watch(PODS, {"resourceVersion": version,
                                                       "timeoutSeconds": 1}):
                    seen.append((event["type"], event["object"]["metadata"]["name"]))
                assert seen == [("ADDED", "b"), ("DELETED", "a")]
                emu.compact()
                async for event in client.watch(PODS, {"resourceVersion": version,
                                                       "timeoutSeconds": 1}):
                    assert (event["type"], event["object"]["code"]) == ("ERROR", 410)
            finally:
                await client.close()
    run(scenario)


def test_binding_twice_is_a_conflict_and_a_missing_pod_is_not_found() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            client = KubeClient.for_url(emu.url)
            try:
                emu.create(node("n1"))
                emu.create(pod("p"))
                await client.bind("default", "p", "n1")
                with pytest.raises(ApiError) as conflict:
                    await client.bind("default", "p", "n1")
                assert conflict.value.conflict
                with pytest.raises(ApiError) as missing:
                    await client.bind("default", "nope", "n1")
                assert missing.value.not_found
                assert emu.bindings == [("default/p", "n1")]
            finally:
                await client.close()
    run(scenario)


def test_eviction_honours_a_disruption_budget() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            client = KubeClient.for_url(emu.url)
            try:
                emu.create(pod("p", node_name="n1", labels={"app": "x"}))
                emu.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                            "metadata": {"name": "keep", "namespace": "default"},
                            "spec": {"minAvailable": 1,
                                     "selector": {"matchLabels": {"app": "x"}}}})
                with pytest.raises(ApiError) as blocked:
                    await client.evict("default", "p", 0)
                assert blocked.value.status == 429
                emu.delete("poddisruptionbudgets", "keep", "default", group="policy")
                await client.evict("default", "p", 0)
                assert emu.get("pods", "p", "default") is None
            finally:
                await client.close()
    run(scenario)


def test_replace_with_a_stale_resource_version_is_a_conflict() -> None:
    async def scenario() -> None:
        async with emulated() as emu:
            client = KubeClient.for_url(emu.url)
            leases = resource_path("coordination.k8s.io", "v1", "leases", "kube-system")
            try:
                created = await client.request("POST", leases, body={
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}})
                await client.request("PUT", f"{leases}/l", body=created)
                with pytest.raises(ApiError) as stale:
                    await client.request("PUT", f"{leases}/l", body=created)
                assert stale.value.conflict
            finally:
                await client.close()
    run(scenario)
