"""Builders for the Kubernetes backend tests: API objects, an emulated cluster, live schedulers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from corral.core import Scheduler
from corral.k8s.client import KubeClient
from corral.k8s.loop import LiveScheduler, Options
from corral.k8s.testing.emulator import Emulator
from corral.policies import load_policy


def node(name: str, gpus: int = 8, product: str = "A100", *, cpu: str = "64",
         memory: str = "512Gi", gpu_memory_mib: int = 81920,
         labels: dict[str, str] | None = None, gpu_share: bool = True,
         **extra: Any) -> dict[str, Any]:
    """A GPU node; with *gpu_share* its agent advertises ``corral.dev/gpu-share`` (it enforces
    fractional GPUs)."""
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "labels": {"nvidia.com/gpu.product": product,
                                                 "nvidia.com/gpu.memory": str(gpu_memory_mib),
                                                 **(labels or {})}},
           "spec": {},
           "status": {"allocatable": {"nvidia.com/gpu": str(gpus), "cpu": cpu,
                                      "memory": memory},
                      "conditions": [{"type": "Ready", "status": "True"}]}}
    if gpu_share:
        obj["status"]["allocatable"]["corral.dev/gpu-share"] = str(gpus * 10)
    for key, value in extra.items():
        obj[key] = value
    return obj


def pod(name: str, gpus: int = 1, *, namespace: str = "default", scheduler: str = "corral",
        group: str | None = None, queue: str | None = None, node_name: str | None = None,
        labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
        limits: dict[str, str] | None = None, priority: int | None = None,
        cpu: str = "1", spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pod of Corral's; *spec* adds fields to its spec (nodeSelector, affinity, ...)."""
    all_labels = dict(labels or {})
    if group:
        all_labels["scheduling.x-k8s.io/pod-group"] = group
    if queue:
        all_labels["kueue.x-k8s.io/queue-name"] = queue
    resources = dict(limits) if limits is not None else \
        ({"nvidia.com/gpu": str(gpus)} if gpus else {})
    pod_spec: dict[str, Any] = {"schedulerName": scheduler, "containers": [
        {"name": "main", "image": "busybox",
         "resources": {"limits": resources, "requests": {"cpu": cpu, **resources}}}]}
    if node_name:
        pod_spec["nodeName"] = node_name
    if priority is not None:
        pod_spec["priority"] = priority
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": all_labels,
                         "annotations": dict(annotations or {})},
            "spec": {**pod_spec, **(spec or {})}}


def podgroup(name: str, min_member: int, *, namespace: str = "default",
             timeout_s: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"minMember": min_member}
    if timeout_s is not None:
        spec["scheduleTimeoutSeconds"] = timeout_s
    return {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def full_node_of_low_priority_gang(emulator: Emulator) -> None:
    """Node n0 (8 GPUs) and gang ``low``: two priority-0 pods of 4 GPUs that fill it once bound."""
    emulator.create(node("n0", 8))
    emulator.create(podgroup("low", 2))
    for i in range(2):
        emulator.create(pod(f"low-{i}", 4, group="low", priority=0))


def queue(name: str, gpus: int | None = None, *, borrowing: int | None = None,
          parent: str | None = None, default: bool = False,
          namespaces: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Queue; *namespaces* is its namespaceSelector (default ``{}``: every namespace)."""
    spec: dict[str, Any] = {"namespaceSelector": {} if namespaces is None else namespaces}
    if gpus is not None:
        spec["quota"] = {"nvidia.com/gpu": str(gpus)}
    if borrowing is not None:
        spec["borrowingLimit"] = {"nvidia.com/gpu": str(borrowing)}
    if parent:
        spec["parent"] = parent
    if default:
        spec["default"] = True
    return {"apiVersion": "corral.dev/v1alpha1", "kind": "Queue", "metadata": {"name": name},
            "spec": spec}


def bound_to(emulator: Emulator) -> dict[str, str]:
    """namespace/pod -> node for every bound pod."""
    return {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p["spec"]["nodeName"]
            for p in emulator.objects("pods") if p["spec"].get("nodeName")}


def gpus_used(emulator: Emulator) -> dict[str, int]:
    """Whole GPUs requested by the pods bound to each node."""
    used: dict[str, int] = {}
    for p in emulator.objects("pods"):
        where = p["spec"].get("nodeName")
        if where:
            for c in p["spec"]["containers"]:
                used[where] = used.get(where, 0) + int(
                    c["resources"]["limits"].get("nvidia.com/gpu", 0))
    return used


def run(test: Callable[..., Awaitable[None]], *args: Any) -> None:
    asyncio.run(asyncio.wait_for(test(*args), 60))


@contextlib.asynccontextmanager
async def emulated(**kwargs: Any) -> AsyncIterator[Emulator]:
    emulator = Emulator(**kwargs)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


RUNNING: dict[int, asyncio.Task[None]] = {}


async def kill(scheduler: LiveScheduler) -> None:
    """Stop a scheduler started by :func:`live` mid-test, and fail if it does not stop."""
    task = RUNNING[id(scheduler)]
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)
    assert done, "the scheduler kept running after it was cancelled"


@contextlib.asynccontextmanager
async def live(emulator: Emulator, policy: str = "priority-preempt", *,
               start: bool = True, **options: Any) -> AsyncIterator[LiveScheduler]:
    """A running scheduler against *emulator*, cancelled (and its client closed) on exit."""
    client = KubeClient.for_url(emulator.url)
    settings: dict[str, Any] = {"batch_window_s": 0.01, "tick_s": 0.2, "leader_elect": False,
                                "grace_seconds": 0, **options}
    scheduler = LiveScheduler(client, Scheduler(load_policy(policy)), Options(**settings))
    task = asyncio.create_task(scheduler.run()) if start else None
    if task is not None:
        RUNNING[id(scheduler)] = task
    try:
        if task is not None:
            await asyncio.wait_for(scheduler.ready.wait(), 10)
        yield scheduler
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.close()


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll *condition* until it holds; fail the test with a clear message if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached within the test's patience")
        await asyncio.sleep(0.02)
