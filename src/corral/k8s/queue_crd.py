"""Corral's cluster-scoped ``Queue`` custom resource (``corral.dev/v1alpha1``) as a model Queue.

::

    apiVersion: corral.dev/v1alpha1
    kind: Queue
    metadata: {name: team-a}
    spec:
      parent: research            # optional: an inner Queue
      weight: 2                   # fair-share weight, default 1
      default: false              # true on one leaf: pods naming no queue go there
      quota: {nvidia.com/gpu: 8, "nvidia.com/gpu:A100": 4, cpu: "64", memory: 256Gi}
      borrowingLimit: {nvidia.com/gpu: 4}   # absent: may borrow any idle capacity
      namespaceSelector:          # which namespaces' pods may use it (Kueue's ClusterQueue rule)
        matchLabels: {kubernetes.io/metadata.name: team-a}

Resource names are the ones :class:`~corral.model.QueueTree` uses; amounts are Kubernetes
quantities. A malformed Queue is reported and left out; the others still apply.

A queue's quota is reachable only from the namespaces its ``namespaceSelector`` matches, as
Kueue's ClusterQueue: absent, no namespace may use it; ``{}``, every namespace. A pod names its
queue with a label its owner writes freely, so the label alone must never reach another team's
quota.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from corral.k8s.label_selector import LabelSelector, selector_from_api
from corral.k8s.quantity import cpu_milli, memory_mib, parse_quantity
from corral.model import CPU, GPU, GPU_OF_TYPE, MEMORY, InvalidSpec, Queue, QueueTree
from corral.model.resources import gpus_to_milli


@dataclass(frozen=True, slots=True)
class QueueObject:
    """A Queue resource: the model queue, whether it is the default leaf, and which namespaces
    may use it."""

    queue: Queue
    default: bool = False
    namespaces: LabelSelector | None = None
    """Matches the labels of the namespaces whose pods may use the queue (None: none may)."""

    def refuses(self, namespace: str, labels: Mapping[str, str]) -> str:
        """Why pods of *namespace* (with its *labels*) may not use this queue ('' if they
        may)."""
        name = self.queue.name
        if self.namespaces is None:
            return (f"queue {name} admits no namespace (its Queue has no namespaceSelector), so "
                    f"pods of namespace {namespace} may not use it")
        if not self.namespaces.matches(labels):
            return (f"namespace {namespace} may not use queue {name}: the Queue's "
                    "namespaceSelector does not match it")
        return ""


def queue_from_api(obj: Mapping[str, Any]) -> QueueObject:
    """Convert a Queue; InvalidSpec naming the queue and the field if it is malformed."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    spec = obj.get("spec") or {}
    try:
        quota = _amounts(spec.get("quota") or {}, "quota")
        limit_spec = spec.get("borrowingLimit")
        limit = None if limit_spec is None else _amounts(limit_spec, "borrowingLimit")
        weight = spec.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float | str):
            raise InvalidSpec(f"weight must be a number, got {weight!r}")
        queue = Queue(name=name, quota=MappingProxyType(quota), weight=float(weight),
                      borrowing_limit=None if limit is None else MappingProxyType(limit),
                      parent=spec.get("parent") or None)
        namespaces = selector_from_api(spec.get("namespaceSelector"), "namespaceSelector", {})
    except (InvalidSpec, ValueError) as exc:
        raise InvalidSpec(f"Queue {name}: {exc}") from None
    return QueueObject(queue, bool(spec.get("default", False)), namespaces)


def queue_tree(objects: Iterable[QueueObject]) -> QueueTree | None:
    """The hierarchy of *objects* (None without any); InvalidSpec if they do not form one."""
    objects = list(objects)
    if not objects:
        return None
    defaults = [o.queue.name for o in objects if o.default]
    if len(defaults) > 1:
        raise InvalidSpec(f"several default queues: {', '.join(sorted(defaults))}")
    return QueueTree([o.queue for o in objects], defaults[0] if defaults else None)


def _amounts(spec: Mapping[str, Any], field: str) -> dict[str, int]:
    if not isinstance(spec, Mapping):
        raise InvalidSpec(f"{field} must be a map of resource to amount")
    out: dict[str, int] = {}
    for resource, value in spec.items():
        try:
            if resource == GPU or resource.startswith(GPU_OF_TYPE):
                out[resource] = gpus_to_milli(parse_quantity(value))
            elif resource == CPU:
                out[resource] = cpu_milli(value)
            elif resource == MEMORY:
                out[resource] = memory_mib(value)
            else:
                raise InvalidSpec(f"unknown resource {resource!r}; use {GPU}, "
                                  f"{GPU_OF_TYPE}<TYPE>, {CPU} or {MEMORY}")
        except InvalidSpec as exc:
            raise InvalidSpec(f"{field}.{resource}: {exc}") from None
    return out
