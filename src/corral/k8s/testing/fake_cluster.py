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
from corral.kube_contract import RESERVED_TAINT

FAKE_LABEL = "corral.dev/fake-node"
RUN_LABEL = "corral.dev/fake-run"
"""Names the run (its namespace) that made a fake node, so its teardown removes only those."""
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
COLLECTION_TIMEOUT_S = 600.0
"""Deleting a collection removes its objects one by one: ten thousand pods took longer than one
ordinary request's timeout (30 s) on a loaded two-core machine."""
GANG_GROUP = "scheduling.x-k8s.io"
GANG_LABEL = f"{GANG_GROUP}/pod-group"


def fake_node(name: str, gpus: int = 8, product: str = "NVIDIA-A100-SXM4-80GB", *,
              reserved: bool = False, run: str = "",
              labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Node of *gpus* GPUs, Ready; with *reserved* it carries the ``NoSchedule`` taint
    :data:`RESERVED_TAINT` that keeps the stock scheduler off (the shipped setup for running
    beside it). *run* (e.g. the run's namespace) labels it so that run's teardown finds it."""
    node_labels = {FAKE_LABEL: "true", "nvidia.com/gpu.product": product,
                   "nvidia.com/gpu.memory": "81920", **(labels or {})}
    if run:
        node_labels[RUN_LABEL] = run
    resources = {"nvidia.com/gpu": str(gpus), "cpu": "128", "memory": "1Ti", "pods": "256"}
    taints = [{"key": RESERVED_TAINT, "effect": "NoSchedule"}] if reserved else []
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": node_labels},
            "spec": {"taints": taints} if taints else {},
            "status": {"capacity": dict(resources), "allocatable": dict(resources),
                       "conditions": [{"type": "Ready", "status": "True", "reason": "FakeNode",
                                       "message": "no kubelet: a Node object only"}]}}


def gpu_pod(name: str, namespace: str, gpus: int, *, scheduler: str = "corral",
            group: str | None = None, queue: str | None = None,
            node_selector: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A pod asking for *gpus* whole GPUs; it tolerates no taint (Corral takes its own pods
    to tolerate :data:`RESERVED_TAINT`; the stock scheduler keeps them off such nodes)."""
    labels = {"app": "corral-bench"}
    if group:
        labels[GANG_LABEL] = group
    if queue:
        labels["corral.dev/queue"] = queue
    limits = {"nvidia.com/gpu": str(gpus)}
    spec: dict[str, Any] = {
        "schedulerName": scheduler, "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.9",
                        "resources": {"limits": limits,
                                      "requests": {"cpu": "100m", **limits}}}]}
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": spec}


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
             scheduler: str = "corral", two_gpu_every: int = 4, prefix: str = "",
             node_selector: Mapping[str, str] | None = None) -> Workload:
    """*pods* pods: about *gang_share* of them in gangs of *gang_size* x 1 GPU, the rest lone
    pods of 1 GPU (every *two_gpu_every*-th asks for 2; 0: none does). Names start with
    *prefix*."""
    out = Workload()
    in_gangs = int(pods * gang_share) // gang_size * gang_size
    for g in range(in_gangs // gang_size):
        group = f"{prefix}gang-{g}"
        out.groups.append(podgroup(group, namespace, gang_size))
        for m in range(gang_size):
            out.pods.append(gpu_pod(f"{group}-{m}", namespace, 1, scheduler=scheduler,
                                    group=group, node_selector=node_selector))
    for i in range(pods - in_gangs):
        two = two_gpu_every > 0 and i % two_gpu_every == two_gpu_every - 1
        out.pods.append(gpu_pod(f"{prefix}pod-{i}", namespace, 2 if two else 1,
                                scheduler=scheduler, node_selector=node_selector))
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


async def create_nodes(client: KubeClient, nodes: Iterable[Mapping[str, Any]],
                       concurrency: int = 64) -> None:
    """Create fake nodes as a kubelet would leave them: Ready, with only their own taints.

    An API server keeps a created Node's status only through ``nodes/status``, and its
    admission (TaintNodesByCondition) taints every new node ``node.kubernetes.io/not-ready``
    until a controller sees it Ready; with no kubelet and no controller-manager both are done
    here: create, patch the status, then set the taints back to the node's own.
    """
    nodes = list(nodes)
    await create_all(client, nodes, concurrency)
    slots = asyncio.Semaphore(concurrency)

    async def settle(node: Mapping[str, Any]) -> None:
        path = resource_path("", "v1", "nodes", name=node["metadata"]["name"])
        async with slots:
            await client.merge_patch(path + "/status", {"status": node.get("status") or {}})
            current = await client.request("GET", path)
            taints = (current.get("spec") or {}).get("taints") or []
            if any(t.get("key") == NOT_READY_TAINT for t in taints):
                own = (node.get("spec") or {}).get("taints") or None
                await client.merge_patch(path, {"spec": {"taints": own}})

    await asyncio.gather(*(settle(n) for n in nodes))


async def delete_run(client: KubeClient, namespace: str, *, finalize_after_s: float = 30.0) -> None:
    """Remove a run's namespace and the fake nodes labelled with it (:data:`RUN_LABEL`).

    Pods go first with grace period 0 (a bound pod waits for its kubelet otherwise, and fake
    nodes have none), then PodGroups, then the namespace. A namespace's last finalizer is
    cleared by the controller-manager's namespace controller; where none runs (a bare
    control plane), the namespace is finalized here once *finalize_after_s* has passed with
    it still terminating. Every step is tried whatever the ones before raised; the first error
    is raised at the end.
    """
    errors: list[BaseException] = []

    async def step(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return await client.request(method, path, **kwargs)
        except ApiError as exc:
            if not exc.not_found:
                errors.append(exc)
        return {}

    await step("DELETE", resource_path("", "v1", "pods", namespace),
               query={"gracePeriodSeconds": "0"}, timeout=COLLECTION_TIMEOUT_S)
    await step("DELETE", resource_path(GANG_GROUP, "v1alpha1", "podgroups", namespace),
               timeout=COLLECTION_TIMEOUT_S)
    namespace_path = resource_path("", "v1", "namespaces", name=namespace)
    await step("DELETE", namespace_path)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + finalize_after_s
    while (current := await step("GET", namespace_path)):
        if loop.time() >= deadline:
            await step("PUT", namespace_path + "/finalize",
                       body={**current, "spec": {"finalizers": []}})
            break
        await asyncio.sleep(0.5)
    await step("DELETE", resource_path("", "v1", "nodes"),
               query={"labelSelector": f"{FAKE_LABEL}=true,{RUN_LABEL}={namespace}"},
               timeout=COLLECTION_TIMEOUT_S)
    if errors:
        raise errors[0]


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
