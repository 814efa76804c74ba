"""A manager and worker clusters as in-process API emulators, and a virtual clock."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from corral.dispatcher.dispatch_lease import ORIGIN
from corral.dispatcher.dispatcher import DISPATCH_LABEL, DispatchSettings
from corral.dispatcher.worker_clusters import WORKER_LABEL
from corral.k8s.testing.emulator import CORE_TYPES, Emulator, ResourceType

TYPES = (*CORE_TYPES, ResourceType("", "v1", "secrets", "Secret", True),
         ResourceType("batch", "v1", "jobs", "Job", True))
SETTINGS = DispatchSettings(namespace="corral-dispatch", lease_s=120.0, grace_s=30.0)
EPOCH = 1_800_000_000.0


class Clock:
    """Virtual seconds since :data:`EPOCH`, moved by the test."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return EPOCH + self.t

    def stamp(self) -> str:
        return datetime.fromtimestamp(self(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kubeconfig(url: str) -> str:
    return (f"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: w, cluster: {{server: '{url}'}}}}]\n"
            f"users: [{{name: u, user: {{token: t}}}}]\n"
            f"contexts: [{{name: c, context: {{cluster: w, user: u}}}}]\n")


def register(manager: Emulator, name: str, worker: Emulator) -> None:
    """A worker's Secret in the dispatcher's namespace."""
    manager.create({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": name, "namespace": SETTINGS.namespace,
                                 "labels": {WORKER_LABEL: "true"}},
                    "data": {"kubeconfig": base64.b64encode(
                        kubeconfig(worker.url).encode()).decode()}})


def gpu_node(name: str, gpus: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"allocatable": {"nvidia.com/gpu": str(gpus)}}}


def job(name: str, pods: int = 2, gpus: int = 4) -> dict[str, Any]:
    """A gang Job submitted to the manager: suspended there, labelled for dispatch."""
    container = {"name": "train", "image": "trainer",
                 "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "team-a",
                         "labels": {DISPATCH_LABEL: "true"}},
            "spec": {"parallelism": pods, "completions": pods, "suspend": True,
                     "template": {"spec": {"containers": [container],
                                           "restartPolicy": "Never"}}}}


def copies(worker: Emulator) -> list[dict[str, Any]]:
    return [j for j in worker.objects("jobs", "batch")
            if ORIGIN in (j["metadata"].get("labels") or {})]


def set_status(worker: Emulator, name: str, status: dict[str, Any]) -> None:
    """What the worker's own Job controller would write."""
    obj = worker.get("jobs", name, "team-a", "batch")
    worker.update(dict(obj, status=status), "jobs")


@contextlib.asynccontextmanager
async def clusters(*gpus: int) -> AsyncIterator[tuple[Emulator, list[Emulator]]]:
    """A manager and one worker per entry of *gpus* (one node of that many GPUs each), named
    w0, w1, ... and registered with the manager."""
    manager = Emulator(TYPES)
    await manager.start()
    workers = []
    try:
        for i, count in enumerate(gpus):
            worker = Emulator(TYPES)
            await worker.start()
            worker.create(gpu_node(f"w{i}-n0", count))
            register(manager, f"w{i}", worker)
            workers.append(worker)
        yield manager, workers
    finally:
        for emulator in (manager, *workers):
            await emulator.stop()
