"""The dispatcher against real kube-apiservers: a manager and two workers on loopback.

Started from ``KUBEBUILDER_ASSETS`` (etcd and kube-apiserver) as envtest does; skipped
without it. No controller-manager runs, so the test writes what the worker's Job controller
would (``startTime``); the checks are that the real API servers accept the claim, the copy
(its selector and stamped labels stripped) and the fence update, and that the job submitted
once to the manager exists in exactly one worker.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator

import pytest
from dispatch_builders import SETTINGS, job

from corral.dispatcher.dispatch_lease import ORIGIN, PHASE
from corral.dispatcher.dispatcher import Dispatcher
from corral.dispatcher.worker_clusters import WORKER_LABEL
from corral.k8s.client import KubeClient, resource_path
from corral.k8s.testing.control_plane import ControlPlane, missing_assets
from corral.k8s.testing.fake_cluster import create_nodes, fake_node

pytestmark = pytest.mark.skipif(bool(missing_assets()), reason=f"no API server binaries: "
                                                               f"{missing_assets()}")
JOBS = resource_path("batch", "v1", "jobs", "team-a")


@pytest.fixture(scope="module")
def planes() -> Iterator[list[ControlPlane]]:
    started: list[ControlPlane] = []
    try:
        for _ in range(3):
            started.append(ControlPlane.start())
        yield started
    finally:
        for plane in started:
            plane.stop()


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def test_job_submitted_to_the_manager_runs_in_exactly_one_worker(
        planes: list[ControlPlane]) -> None:
    workers = planes[1:]

    async def scenario() -> None:
        clients = [await KubeClient.connect(str(p.kubeconfig)) for p in planes]
        hub = clients[0]
        for client in clients:
            for name in ("team-a", SETTINGS.namespace):
                await client.request("POST", resource_path("", "v1", "namespaces"),
                                     body=namespace(name))
        for i, (plane, client) in enumerate(zip(workers, clients[1:], strict=True)):
            await create_nodes(client, [fake_node(f"w{i}-n0", 8 * (2 - i))])
            text = plane.kubeconfig.read_text().replace(
                f'"certificate-authority": "{plane.ca_file}"',
                f'"certificate-authority-data": '
                f'"{base64.b64encode(plane.ca_file.read_bytes()).decode()}"')
            await hub.request("POST", resource_path("", "v1", "secrets", SETTINGS.namespace),
                              body={"apiVersion": "v1", "kind": "Secret",
                                    "metadata": {"name": f"w{i}",
                                                 "labels": {WORKER_LABEL: "true"}},
                                    "data": {"kubeconfig": base64.b64encode(
                                        text.encode()).decode()}})
        await hub.request("POST", JOBS, body=job("train", pods=2, gpus=4))
        dispatcher = Dispatcher(hub, SETTINGS, time.time)
        await dispatcher.reconcile()
        held = [[j["metadata"]["name"] for j in (await c.request("GET", JOBS))["items"]
                 if ORIGIN in (j["metadata"].get("labels") or {})] for c in clients[1:]]
        assert held == [["train"], []]  # w0 has 16 GPUs, w1 8
        # What w0's Job controller would write; the next pass fences the copy to its lease.
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        await clients[1].request("PUT", JOBS + "/train/status", body={
            **(await clients[1].request("GET", JOBS + "/train")),
            "status": {"active": 2, "startTime": started}})
        await dispatcher.reconcile()
        copy = await clients[1].request("GET", JOBS + "/train")
        assert 0 < copy["spec"]["activeDeadlineSeconds"] <= SETTINGS.lease_s + 5
        mirrored = await hub.request("GET", JOBS + "/train")
        assert mirrored["metadata"]["annotations"][PHASE] == "Running"
        assert mirrored["spec"]["suspend"] is True  # the manager never runs it itself
        assert (await clients[2].request("GET", JOBS))["items"] == []
        await dispatcher.close()
        for client in clients:
            await client.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
