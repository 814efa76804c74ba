"""Against a real API server (``CORRAL_TEST_KUBECONFIG``): fake GPU nodes, gangs, a scheduler
killed and restarted mid-load, and the stock kube-scheduler binding its own pods beside it.

Each test creates its own namespace and ``corral.dev/fake-node`` nodes and removes them after.
``CORRAL_TEST_NODES`` (default 1000) sets the cluster size. The Queue and scheduler-plugins
PodGroup CRDs (deploy/scheduler/crds.yaml and the scheduler-plugins CRD) must be installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid

import pytest

from corral.core import Scheduler
from corral.k8s.client import KubeClient, resource_path
from corral.k8s.loop import LiveScheduler, Options
from corral.k8s.testing.fake_cluster import FAKE_LABEL, check, create_all, fake_node, workload
from corral.policies import load_policy

KUBECONFIG = os.environ.get("CORRAL_TEST_KUBECONFIG")
pytestmark = pytest.mark.skipif(
    not KUBECONFIG, reason="CORRAL_TEST_KUBECONFIG is not set: these tests need a real "
                           "kube-apiserver (fake GPU nodes are created on it)")
NODES = int(os.environ.get("CORRAL_TEST_NODES", "1000"))


@contextlib.asynccontextmanager
async def cluster(nodes: int):
    client = await KubeClient.connect(KUBECONFIG)
    namespace = f"corral-test-{uuid.uuid4().hex[:6]}"
    prefix = namespace
    try:
        await create_all(client, [{"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": namespace}}])
        await create_all(client, [fake_node(f"{prefix}-{i:05d}") for i in range(nodes)])
        yield client, namespace
    finally:
        await client.request("DELETE", resource_path("", "v1", "namespaces", namespace))
        await client.request("DELETE", resource_path("", "v1", "nodes"),
                             query={"labelSelector": f"{FAKE_LABEL}=true"})
        await client.close()


async def _start(client: KubeClient, identity: str) -> tuple[LiveScheduler, asyncio.Task]:
    scheduler = LiveScheduler(client, Scheduler(load_policy("corral")), Options(
        identity=identity, lease_namespace="default", lease_name="corral-test",
        grace_seconds=0))
    task = asyncio.create_task(scheduler.run())
    return scheduler, task


async def _wait_all_bound(client: KubeClient, namespace: str, total: int,
                          timeout: float) -> list[dict]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        pods = (await client.request("GET", resource_path("", "v1", "pods", namespace)))["items"]
        if sum(1 for p in pods if p["spec"].get("nodeName")) >= total or \
                asyncio.get_running_loop().time() > deadline:
            return pods
        await asyncio.sleep(1)


def test_kill_and_restart_mid_load_beside_the_stock_scheduler() -> None:
    async def scenario() -> None:
        async with cluster(NODES) as (client, namespace):
            ours = workload(namespace, NODES * 4, gang_share=0.3)
            stock = workload(namespace, NODES // 2, gang_share=0.0, scheduler="default-scheduler")
            for obj in stock.pods:
                obj["metadata"]["name"] = "stock-" + obj["metadata"]["name"]
            await create_all(client, ours.groups)
            _first, first_task = await _start(client, "replica-a")
            standby, standby_task = await _start(client, "replica-b")
            await create_all(client, [*ours.pods, *stock.pods])
            await asyncio.sleep(3)
            first_task.cancel()  # a crash mid-load
            await asyncio.gather(first_task, return_exceptions=True)
            restarted, restarted_task = await _start(client, "replica-a")
            total = len(ours.pods) + len(stock.pods)
            pods = await _wait_all_bound(client, namespace, total, timeout=600)
            for task in (standby_task, restarted_task):
                task.cancel()
            nodes = (await client.request("GET", resource_path("", "v1", "nodes"),
                                          query={"labelSelector": f"{FAKE_LABEL}=true"}))["items"]
            verdict = check(nodes, pods, {f"{namespace}/{g['metadata']['name']}": 8
                                          for g in ours.groups})
            assert verdict.ok, (verdict.overcommitted, verdict.partial_gangs)
            assert verdict.bound == total and len(pods) == total  # no pod lost
            assert not (standby.is_leader() and restarted.is_leader())
    asyncio.run(scenario())
