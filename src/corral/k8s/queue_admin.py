"""Create Queue resources and change their quotas: what ``corral queues`` does live.

The API server validates and stores; the scheduler picks the change up from its watch, as it
does any Queue edit. Amounts are written as Kubernetes quantities (``nvidia.com/gpu: "8"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corral.k8s import conventions as names
from corral.k8s.client import KubeClient, resource_path

GPU_RESOURCE = "nvidia.com/gpu"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def queue_object(name: str, *, gpus: float, parent: str | None = None, weight: float = 1.0,
                 borrowing_limit: float | None = None,
                 namespaces: Sequence[str] = ()) -> dict[str, Any]:
    """A Queue resource; *namespaces* are those whose pods may use it (none: no namespace may,
    ``["*"]``: every namespace)."""
    group, version, _ = names.QUEUE_API
    spec: dict[str, Any] = {"quota": {GPU_RESOURCE: f"{gpus:g}"}}
    if parent:
        spec["parent"] = parent
    if weight != 1.0:
        spec["weight"] = weight
    if borrowing_limit is not None:
        spec["borrowingLimit"] = {GPU_RESOURCE: f"{borrowing_limit:g}"}
    if list(namespaces) == ["*"]:
        spec["namespaceSelector"] = {}
    elif namespaces:
        spec["namespaceSelector"] = {"matchExpressions": [
            {"key": NAMESPACE_LABEL, "operator": "In", "values": sorted(set(namespaces))}]}
    return {"apiVersion": f"{group}/{version}", "kind": "Queue", "metadata": {"name": name},
            "spec": spec}


async def create_queue(client: KubeClient, obj: dict[str, Any]) -> None:
    group, version, plural = names.QUEUE_API
    await client.request("POST", resource_path(group, version, plural), body=obj)


async def set_quota(client: KubeClient, name: str, *, gpus: float | None = None,
                    borrowing_limit: float | None = None) -> None:
    """Merge the GPU quota and/or borrowing limit into the Queue; other amounts stay."""
    group, version, plural = names.QUEUE_API
    spec: dict[str, Any] = {}
    if gpus is not None:
        spec["quota"] = {GPU_RESOURCE: f"{gpus:g}"}
    if borrowing_limit is not None:
        spec["borrowingLimit"] = {GPU_RESOURCE: f"{borrowing_limit:g}"}
    await client.merge_patch(resource_path(group, version, plural, name=name), {"spec": spec})


async def list_queues(client: KubeClient) -> list[dict[str, Any]]:
    group, version, plural = names.QUEUE_API
    return (await client.request("GET", resource_path(group, version, plural)))["items"]
