"""Fake GPU clusters on any API server: Node objects with no kubelet behind them, and GPU pods.

Used by the throughput benchmark and by the tests that run against a real control plane. The
nodes carry ``corral.dev/fake-node`` so they can be found and removed again; :func:`check`
verifies the properties the scheduler promises, from the API objects alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.k8s.client import ApiError, KubeClient, resource_path

FAKE_LABEL = "corral.dev/fake-node"
GANG_LABEL = "scheduling.x-k8s.io/pod-group"


def fake_node(name: str, gpus: int = 8, product: str = "NVIDIA-A100-SXM4-80GB") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {FAKE_LABEL: "true",
                                                  "nvidia.com/gpu.product": product,
                                                  "nvidia.com/gpu.memory": "81920"}},
            "status": {"capacity": {"nvidia.com/gpu": str(gpus), "cpu": "128",
                                    "memory": "1Ti", "pods": "256"},
                       "allocatable": {"nvidia.com/gpu": str(gpus), "cpu": "128",
                                       "memory": "1Ti", "pods": "256"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def gpu_pod(name: str, namespace: str, gpus: int, *, scheduler: str = "corral",
            group: str | None = None, queue: str | None = None) -> dict[str, Any]:
    labels = {"app": "corral-bench"}
    if group:
        labels[GANG_LABEL] = group
    if queue:
        labels["corral.dev/queue"] = queue
    limits = {"nvidia.com/gpu": str(gpus)}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"schedulerName": scheduler, "terminationGracePeriodSeconds": 0,
                     "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.9",
                                     "resources": {"limits": limits,
                                                   "requests": {"cpu": "100m", **limits}}}]}}


def podgroup(name: str, namespace: str, min_member: int) -> dict[str, Any]:
    return {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"minMember": min_member, "scheduleTimeoutSeconds": 120}}


@dataclass
class Workload:
    """Pods to create: lone pods and gangs (as PodGroup + members)."""

    groups: list[dict[str, Any]] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)


def workload(namespace: str, pods: int, *, gang_share: float = 0.2, gang_size: int = 8,
             scheduler: str = "corral") -> Workload:
    """*pods* pods: about *gang_share* of them in gangs of *gang_size* x 1 GPU, the rest lone
    pods of 1 GPU (every fourth asks for 2)."""
    out = Workload()
    in_gangs = int(pods * gang_share) // gang_size * gang_size
    for g in range(in_gangs // gang_size):
        out.groups.append(podgroup(f"gang-{g}", namespace, gang_size))
        for m in range(gang_size):
            out.pods.append(gpu_pod(f"gang-{g}-{m}", namespace, 1, scheduler=scheduler,
                                    group=f"gang-{g}"))
    for i in range(pods - in_gangs):
        out.pods.append(gpu_pod(f"pod-{i}", namespace, 2 if i % 4 == 3 else 1,
                                scheduler=scheduler))
    return out


async def create_all(client: KubeClient, objects: Iterable[Mapping[str, Any]],
                     concurrency: int = 64) -> None:
    """POST every object (an existing one is left as it is)."""
    slots = asyncio.Semaphore(concurrency)

    async def one(obj: Mapping[str, Any]) -> None:
        group, _, version = obj["apiVersion"].rpartition("/")
        plural = {"Node": "nodes", "Pod": "pods", "PodGroup": "podgroups",
                  "Namespace": "namespaces", "Queue": "queues"}[obj["kind"]]
        namespace = obj["metadata"].get("namespace") if obj["kind"] not in (
            "Node", "Namespace", "Queue") else None
        async with slots:
            try:
                await client.request("POST", resource_path(group, version, plural, namespace),
                                     body=dict(obj))
            except ApiError as exc:
                if not exc.conflict:
                    raise

    await asyncio.gather(*(one(o) for o in objects))


@dataclass
class Check:
    """What :func:`check` found."""

    bound: int = 0
    pending: int = 0
    overcommitted: dict[str, tuple[int, int]] = field(default_factory=dict)
    partial_gangs: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.overcommitted and not self.partial_gangs


def check(nodes: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]],
          groups: Mapping[str, int]) -> Check:
    """GPUs bound per node within allocatable (every pod counts, whoever bound it); every gang
    (namespace/name -> minMember) bound with at least its minimum or not at all."""
    capacity = {n["metadata"]["name"]: int((n.get("status") or {}).get("allocatable", {}).get(
        "nvidia.com/gpu", 0)) for n in nodes}
    used: dict[str, int] = {}
    members: dict[str, int] = {}
    result = Check()
    for p in pods:
        if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        where = (p.get("spec") or {}).get("nodeName")
        gang = ((p["metadata"].get("labels") or {}).get(GANG_LABEL))
        if not where:
            result.pending += 1
            continue
        result.bound += 1
        gpus = sum(int(((c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu", 0))
                   for c in p["spec"]["containers"])
        used[where] = used.get(where, 0) + gpus
        if gang:
            key = f"{p['metadata']['namespace']}/{gang}"
            members[key] = members.get(key, 0) + 1
    result.overcommitted = {n: (u, capacity.get(n, 0)) for n, u in used.items()
                            if n in capacity and u > capacity[n]}
    result.partial_gangs = {g: (n, groups[g]) for g, n in members.items()
                            if g in groups and n < groups[g]}
    return result
