"""Against a real kube-apiserver: fake GPU nodes, gangs, a scheduler killed and restarted
mid-load, the stock kube-scheduler binding its own pods beside it, and a clean teardown.

The setup checked is the shipped one for running beside the stock kube-scheduler: Corral's fake
GPU nodes carry the ``NoSchedule`` taint ``corral.dev/reserved``
(:data:`corral.kube_contract.RESERVED_TAINT`), which Corral takes its own pods to tolerate
and the stock scheduler's pods do not, so the stock scheduler's pods go to a separate set of
untainted fake nodes. Corral's pods select Corral's nodes by label (otherwise Corral could
also fill the untainted nodes, and two schedulers would then race for their GPUs).

Where the API server comes from, envtest's convention first:

- ``KUBEBUILDER_ASSETS`` names a folder with ``etcd`` and ``kube-apiserver`` (and
  ``kube-scheduler`` for the side-by-side test): a throwaway control plane is started on
  loopback for this module (:mod:`corral.k8s.testing.control_plane`), the Queue and PodGroup
  CRDs installed, and everything stopped and removed after;
- else ``CORRAL_TEST_KUBECONFIG``: an existing cluster, with those CRDs installed and its own
  kube-scheduler running;
- else every test skips, saying so.

Each test creates its own namespace and nodes (labelled with it) and removes them after, also
when it fails. ``CORRAL_TEST_NODES`` (default 1000) sets the number of Corral's nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from corral.core import Scheduler
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.loop import LiveScheduler, Options
from corral.k8s.testing.control_plane import (
    ASSETS_ENV,
    PODGROUP_CRD,
    SCHEDULER_BINARY,
    ControlPlane,
    crd_documents,
    install_crds,
    missing_assets,
)
from corral.k8s.testing.fake_cluster import (
    FAKE_LABEL,
    RUN_LABEL,
    check,
    create_all,
    create_nodes,
    delete_run,
    fake_node,
    gpu_pod,
    workload,
)
from corral.policies import load_policy

REPO = Path(__file__).resolve().parents[2]
KUBECONFIG = os.environ.get("CORRAL_TEST_KUBECONFIG")
NODES = int(os.environ.get("CORRAL_TEST_NODES", "1000"))
POOL_LABEL = "corral.dev/fake-pool"
"""Which scheduler's nodes a fake node is: ``corral`` (reserved) or ``stock``."""

if missing_assets() and not KUBECONFIG:
    pytestmark = pytest.mark.skip(
        reason=f"no API server: {missing_assets()}, and CORRAL_TEST_KUBECONFIG is not set "
               "(these tests need a real kube-apiserver; see docs/kubernetes.md)")


@dataclass
class Target:
    """The API server the tests use."""

    kubeconfig: str
    plane: ControlPlane | None = None
    """The throwaway control plane, when the tests started one."""

    @property
    def finalize_after_s(self) -> float:
        """No namespace controller runs on a throwaway control plane."""
        return 0.0 if self.plane else 30.0


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    if missing_assets():
        assert KUBECONFIG
        yield Target(KUBECONFIG)
        return
    plane = ControlPlane.start()
    try:
        install_crds(plane, [*crd_documents([REPO / "deploy/scheduler/crds.yaml"]),
                             PODGROUP_CRD])
        yield Target(str(plane.kubeconfig), plane)
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def stock_scheduler(target: Target) -> Iterator[None]:
    """The stock kube-scheduler: the existing cluster's own, or one started on the throwaway
    control plane."""
    if target.plane is None:
        yield
        return
    if not os.access(target.plane.assets / SCHEDULER_BINARY, os.X_OK):
        pytest.skip(f"{ASSETS_ENV} has no {SCHEDULER_BINARY} to run beside Corral")
    target.plane.start_scheduler()
    try:
        yield
    finally:
        target.plane.stop_scheduler()


@contextlib.asynccontextmanager
async def cluster(target: Target, corral_nodes: int,
                  stock_nodes: int = 0) -> AsyncIterator[tuple[KubeClient, str]]:
    """A fresh namespace, *corral_nodes* reserved fake nodes and *stock_nodes* untainted ones;
    all removed on leaving, whatever happened inside."""
    client = await KubeClient.connect(target.kubeconfig)
    namespace = f"corral-test-{uuid.uuid4().hex[:6]}"
    try:
        await create_all(client, [{"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": namespace}}])
        await create_nodes(client, [
            *(fake_node(f"{namespace}-{i:05d}", reserved=True, run=namespace,
                        labels={POOL_LABEL: "corral"}) for i in range(corral_nodes)),
            *(fake_node(f"{namespace}-stock-{i:05d}", run=namespace,
                        labels={POOL_LABEL: "stock"}) for i in range(stock_nodes))])
        yield client, namespace
    finally:
        try:
            await delete_run(client, namespace, finalize_after_s=target.finalize_after_s)
        finally:
            await client.close()


async def _start(target: Target, identity: str,
                 namespace: str) -> tuple[LiveScheduler, asyncio.Task]:
    """A replica with its own client, as a separate process would have (the elector fences
    its client's writes)."""
    client = await KubeClient.connect(target.kubeconfig)
    scheduler = LiveScheduler(client, Scheduler(load_policy("corral")), Options(
        identity=identity, lease_namespace=namespace, lease_name="corral-test",
        grace_seconds=0))

    async def run() -> None:
        try:
            await scheduler.run()
        finally:
            await client.close()

    return scheduler, asyncio.create_task(run())


async def _wait_all_bound(client: KubeClient, namespace: str, total: int,
                          timeout: float) -> list[dict]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        pods = (await client.request("GET", resource_path("", "v1", "pods", namespace)))["items"]
        if sum(1 for p in pods if p["spec"].get("nodeName")) >= total or \
                asyncio.get_running_loop().time() > deadline:
            return pods
        await asyncio.sleep(1)


def test_kill_and_restart_mid_load_beside_the_stock_scheduler(
        target: Target, stock_scheduler: None) -> None:
    async def scenario() -> None:
        stock_nodes = max(1, NODES // 8)
        async with cluster(target, NODES, stock_nodes) as (client, namespace):
            ours = workload(namespace, NODES * 4, gang_share=0.3,
                            node_selector={POOL_LABEL: "corral"})
            stock = workload(namespace, NODES // 2, gang_share=0.0,
                             scheduler="default-scheduler", prefix="stock-")
            await create_all(client, ours.groups)
            _first, first_task = await _start(target, "replica-a", namespace)
            standby, standby_task = await _start(target, "replica-b", namespace)
            await create_all(client, [*ours.pods, *stock.pods])
            await asyncio.sleep(3)
            first_task.cancel()  # a crash mid-load
            await asyncio.gather(first_task, return_exceptions=True)
            restarted, restarted_task = await _start(target, "replica-a", namespace)
            total = len(ours.pods) + len(stock.pods)
            pods = await _wait_all_bound(client, namespace, total, timeout=600)
            for task in (standby_task, restarted_task):
                task.cancel()
            await asyncio.gather(standby_task, restarted_task, return_exceptions=True)
            nodes = (await client.request("GET", resource_path("", "v1", "nodes"), query={
                "labelSelector": f"{FAKE_LABEL}=true,{RUN_LABEL}={namespace}"}))["items"]
            verdict = check(nodes, pods, {f"{namespace}/{g['metadata']['name']}": 8
                                          for g in ours.groups})
            assert verdict.ok, (verdict.overcommitted, verdict.partial_gangs)
            assert verdict.bound == total and len(pods) == total  # no pod lost
            assert not (standby.is_leader() and restarted.is_leader())
            pool = {n["metadata"]["name"]: n["metadata"]["labels"][POOL_LABEL] for n in nodes}
            stock_names = {p["metadata"]["name"] for p in stock.pods}
            misplaced = [(p["metadata"]["name"], p["spec"]["nodeName"]) for p in pods
                         if (pool[p["spec"]["nodeName"]] == "corral")
                         != (p["metadata"]["name"] not in stock_names)]
            assert not misplaced  # the stock scheduler kept off the reserved nodes
    asyncio.run(scenario())


def test_teardown_removes_the_namespace_and_every_fake_node_when_a_test_fails(
        target: Target) -> None:
    async def scenario() -> None:
        with contextlib.suppress(RuntimeError):
            async with cluster(target, 3, 1) as (client, namespace):
                pod = gpu_pod("bound", namespace, 1)
                await create_all(client, [pod])
                await client.bind(namespace, "bound", f"{namespace}-00000")
                raise RuntimeError("the test failed")
        client = await KubeClient.connect(target.kubeconfig)
        try:
            with pytest.raises(ApiError) as gone:
                await client.request("GET", resource_path("", "v1", "namespaces",
                                                          name=namespace))
            assert gone.value.not_found
            pods = (await client.request("GET", resource_path("", "v1", "pods",
                                                              namespace)))["items"]
            assert pods == []  # the bound pod too, with no kubelet to confirm its deletion
            nodes = (await client.request("GET", resource_path("", "v1", "nodes"), query={
                "labelSelector": f"{RUN_LABEL}={namespace}"}))["items"]
            assert nodes == []
        finally:
            await client.close()
    asyncio.run(scenario())
