"""A Node API object as Corral's :class:`~corral.model.Node`, whether pods may go there, and
the taints they must tolerate to.

GPUs are the node's allocatable ``nvidia.com/gpu``; their model and memory come from GPU
Feature Discovery's labels (``nvidia.com/gpu.product``, ``nvidia.com/gpu.memory`` in MiB); the
datasets its data cache holds from the ``corral.dev/cached-datasets`` annotation. A node whose
figures cannot be read is left out with the reason, and the rest of the cluster is served.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from corral.k8s import conventions as names
from corral.k8s.node_affinity import node_taints
from corral.k8s.quantity import count, cpu_milli, memory_mib_floor
from corral.model import InvalidSpec, Node

CORDONED = "cordoned"
NOT_READY = "not Ready"
DEFAULT_GPU_TYPE = "GPU"
"""The GPU type of a node without a GFD product label."""
TOLERATED_TAINTS = frozenset({"nvidia.com/gpu", names.RESERVED_TAINT})
"""Taint keys every pod of Corral's is taken to tolerate, whatever its tolerations say. GPU pods
get exactly this toleration from the API server's ExtendedResourceToleration admission plugin
(for each extended resource they request), and clusters that taint GPU nodes with it mean
"GPU pods only": Corral's pods are GPU pods, and where that admission plugin is off they would
otherwise be kept off every GPU node. :data:`~corral.k8s.conventions.RESERVED_TAINT` reserves a
node for Corral (the stock scheduler keeps off it; Corral's pods are taken to tolerate it).
Other taints are matched against the pod's tolerations."""


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What the scheduler keeps of a Node: the model node (its taints less the ones every pod
    is taken to tolerate; ``shares_gpus`` when its agent advertises ``corral.dev/gpu-share``),
    its GPUs' memory, and whether any pod may go there (not cordoned, Ready)."""

    node: Node
    gpu_memory_mib: int
    schedulable: bool
    why_not: str = ""
    resource_version: str = ""


def node_from_api(obj: Mapping[str, Any],
                  tolerated: Collection[str] = TOLERATED_TAINTS) -> NodeInfo:
    """Convert a Node; InvalidSpec (naming the node and field) if its resources are malformed."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    labels: Mapping[str, str] = meta.get("labels") or {}
    annotations: Mapping[str, str] = meta.get("annotations") or {}
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    resources = status.get("allocatable") or status.get("capacity") or {}
    try:
        gpus = count(resources.get(names.WHOLE_GPU_RESOURCE, 0), names.WHOLE_GPU_RESOURCE)
        cpu = cpu_milli(resources.get("cpu", 0))
        memory = memory_mib_floor(resources.get("memory", 0))
        gpu_memory = int(labels.get(names.GPU_MEMORY_LABEL, "0") or 0)
        shares = count(resources.get(names.SHARE_RESOURCE, 0), names.SHARE_RESOURCE) > 0
    except (InvalidSpec, ValueError) as exc:
        raise InvalidSpec(f"node {name}: {exc}") from None
    topology = next((labels[k] for k in names.TOPOLOGY_LABELS if labels.get(k)), "")
    node = Node(name=name, gpus=gpus, gpu_type=labels.get(names.GPU_PRODUCT_LABEL)
                or DEFAULT_GPU_TYPE, cpu_milli=cpu, memory_mib=memory,
                labels=MappingProxyType(dict(labels)), topology=topology,
                datasets=MappingProxyType(cached_datasets(name, annotations)),
                taints=node_taints(spec, tolerated), shares_gpus=shares)
    why_not = _unschedulable(spec, status)
    return NodeInfo(node, gpu_memory, not why_not, why_not, meta.get("resourceVersion", ""))


def cached_datasets(node: str, annotations: Mapping[str, str]) -> dict[str, float]:
    """The data cache's annotation as dataset -> share; a malformed one counts as empty."""
    text = annotations.get(names.CACHED_DATASETS)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): float(v) for k, v in value.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1}


def _unschedulable(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    """Why no new pod may go to the node, whatever it tolerates ('' if they may)."""
    if spec.get("unschedulable"):
        return CORDONED
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Ready" and condition.get("status") != "True":
            return f"{NOT_READY} ({condition.get('reason') or condition.get('status')})"
    return ""
