"""The dashboard live: ``corral serve``'s app on the in-repo API emulator, with Corral's live
scheduler on the same emulator, so what an admin writes through the dashboard is what the
scheduler enforces. The emulator answers TokenReviews and SubjectAccessReviews from its
tokens and grants: root may update Queues (an admin), alice may list pods in ns-vision, bob
in ns-speech. A node agent's metrics endpoint reports GPU 0 of node n0 75% busy and GPU 7
withdrawn."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from corral.agent.metrics import AgentCollector, GpuRow, Snapshot, serve
from corral.dashboard.app import create_app
from corral.dashboard.projects import NAMESPACE_LABEL
from corral.dashboard.sources import live_sources
from corral.k8s.client import KubeClient
from corral.k8s.loop import LiveScheduler
from corral.k8s.testing.emulator import Emulator
from corral.k8s.testing.reviews import Grant
from k8s.k8s_builders import live, node

TOKENS = {"admin": "root-token", "alice": "alice-token", "bob": "bob-token"}
USERS = {"root-token": "root", "alice-token": "alice", "bob-token": "bob"}
NAMESPACES = {"alice": "ns-vision", "bob": "ns-speech"}


@dataclass
class LiveDashboard:
    emulator: Emulator
    scheduler: LiveScheduler
    app: FastAPI


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[user]}"}


@contextlib.asynccontextmanager
async def live_dashboard(folder: Path) -> AsyncIterator[LiveDashboard]:
    """An 8-GPU node, the members' namespaces (no Queue yet), the scheduler running and the
    dashboard's app on the emulator; everything stops on exit."""
    emulator = Emulator()
    await emulator.start()
    emulator.reviews.tokens.update(USERS)
    emulator.reviews.grants.append(Grant("root", "update", "queues", group="corral.dev"))
    emulator.reviews.grants.extend(Grant(user, "list", "pods", namespace=namespace)
                                   for user, namespace in NAMESPACES.items())
    emulator.create(node("n0", 8))
    for namespace in NAMESPACES.values():
        emulator.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": namespace, "labels": {NAMESPACE_LABEL: namespace}}})
    collector = AgentCollector()
    collector.update(Snapshot(gpus=[gpu_row(0, "n0", 75), gpu_row(7, "n0", 0, healthy=False)]))
    agent = serve(collector, 0, "127.0.0.1")
    client = KubeClient.for_url(emulator.url)
    try:
        async with live(emulator, "corral") as scheduler:
            app = create_app(live_sources(
                client, None, None, None, [], folder / "audit.log",
                [f"http://127.0.0.1:{agent.server_port}/metrics"]))
            yield LiveDashboard(emulator, scheduler, app)
    finally:
        await client.close()
        await emulator.stop()
        agent.shutdown()


def gpu_row(index: int, node_name: str, util: float, healthy: bool = True) -> GpuRow:
    """A GPU as a node agent on *node_name* reports it."""
    return GpuRow(labels=(str(index), f"GPU-{index}", f"nvidia{index}", "A100", node_name,
                          "", "", ""), util_percent=util, memory_used_mib=0,
                  memory_free_mib=80000, power_w=100, temperature_c=40, sm_clock_mhz=1400,
                  last_xid=0, healthy=1.0 if healthy else 0.0)


def project(name: str, gpus: float, namespace: str) -> dict[str, Any]:
    """A project of *gpus* GPUs that borrows nothing, for the pods of *namespace*."""
    return {"name": name, "quota_gpus": gpus, "borrowing_gpus": 0, "members": [namespace]}
