"""A Pod API object as the scheduler keeps it: identity, what one task asks for, its gang,
queue and priority, the nodes it may go to, its rules about other pods, and where it is bound.

A pod's request is the API's effective request: per resource the larger of the sum over its
containers and the largest init container, plus the pod overhead. Whole GPUs come from
``nvidia.com/gpu``; a share of one GPU from ``corral.dev/gpu-share`` with the
``corral.dev/gpu-fraction`` (and optional ``corral.dev/gpu-memory``) annotations, as
docs/gpu-sharing.md documents them. A request, node affinity or inter-pod rule that cannot be
read leaves the pod with an ``error`` naming the field; it waits, with that reason, and nothing
else is affected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from corral.k8s import conventions as names
from corral.k8s.gangs import GangRef, gang_of_pod
from corral.k8s.node_affinity import constraints_from_spec
from corral.k8s.pod_rules import PodRules, rules_from_spec
from corral.k8s.quantity import count, cpu_milli, memory_mib
from corral.kube_contract import job_of, queue_of
from corral.model import DEFAULT_QUEUE, MILLI, InvalidSpec, gpus_to_milli
from corral.model.node_constraints import NO_CONSTRAINTS, NodeConstraints

FINISHED_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One pod's needs in Corral's units; *gpu_memory_mib* 0 means "its share of the GPU"."""

    gpu_milli: int = 0
    cpu_milli: int = 0
    memory_mib: int = 0
    gpu_memory_mib: int = 0


@dataclass(frozen=True, slots=True)
class PodRecord:
    """What the scheduler keeps of a Pod."""

    key: str
    uid: str
    namespace: str
    name: str
    scheduler: str
    node: str
    phase: str
    deleting: bool
    created: float
    request: TaskRequest
    error: str = ""
    gang: GangRef | None = None
    queue: str = DEFAULT_QUEUE
    user: str = ""
    job_name: str = ""
    priority: int = 0
    priority_class: str = ""
    gpu_types: tuple[str, ...] = ()
    dataset: str = ""
    gpu_indices: tuple[int, ...] = ()
    """GPU indices recorded on the pod by a scheduler (``corral.dev/gpu-index``)."""
    constraints: NodeConstraints = NO_CONSTRAINTS
    """Its node selector, required node affinity and tolerations (read while it is unbound)."""
    rules: PodRules | None = None
    """Its required pod (anti-)affinity and topology spread (None: none). Read bound or not:
    a placed pod's anti-affinity keeps matching pods off its domain."""
    unschedulable_message: str = ""
    """The message of its ``PodScheduled=False`` condition ('' without one)."""
    booked: tuple[TaskRequest, tuple[int, ...]] | None = None
    """The share and GPUs the scheduler recorded on its status when it bound it (its owner
    cannot write there); None for other pods, whose request and GPUs are what they say."""
    resource_version: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED_PHASES

    @property
    def holds_capacity(self) -> bool:
        """Bound and not finished: its node's capacity is taken (terminating pods too)."""
        return bool(self.node) and self.phase not in FINISHED_PHASES


def largest_request(requests: Iterable[TaskRequest]) -> TaskRequest:
    """Field by field the largest request: members of one gang are sized alike, and where
    they are not the gang is booked at the largest (never over-committing a node)."""
    gpu = cpu = mem = gmem = 0
    for r in requests:
        gpu, cpu, mem = max(gpu, r.gpu_milli), max(cpu, r.cpu_milli), max(mem, r.memory_mib)
        gmem = max(gmem, r.gpu_memory_mib)
    if gpu > MILLI:
        gpu = math.ceil(gpu / MILLI) * MILLI
    return TaskRequest(gpu, cpu, mem, gmem)


def pod_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def pod_from_api(obj: Mapping[str, Any]) -> PodRecord:
    """Convert a Pod (a JSON object as the API serves it); never raises for bad requests."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    namespace = meta.get("namespace") or "default"
    name = meta.get("name") or ""
    labels: Mapping[str, str] = meta.get("labels") or {}
    annotations: Mapping[str, str] = meta.get("annotations") or {}
    error = ""
    try:
        request = task_request(spec, annotations)
    except InvalidSpec as exc:
        request, error = TaskRequest(), f"pod {namespace}/{name}: {exc}"
    booked = _booked(spec, status) if spec.get("nodeName") else None
    constraints = NO_CONSTRAINTS
    if not spec.get("nodeName"):  # where a bound pod could have gone no longer matters
        try:
            constraints = constraints_from_spec(spec)
        except InvalidSpec as exc:
            error = error or f"pod {namespace}/{name}: {exc}"
        if 0 < request.gpu_milli < MILLI:
            constraints = replace(constraints, gpu_share=True)
    try:
        rules = rules_from_spec(spec, namespace, labels)
    except InvalidSpec as exc:
        rules = None  # a bound pod keeps its place; a pending one waits, saying why
        if not spec.get("nodeName"):
            error = error or f"pod {namespace}/{name}: {exc}"
    selector = spec.get("nodeSelector") or {}
    product = selector.get(names.GPU_PRODUCT_LABEL)
    try:
        indices = _indices(annotations.get(names.GPU_INDEX, ""))
    except ValueError:
        indices = ()
    priority = spec.get("priority")
    return PodRecord(
        key=pod_key(namespace, name),
        uid=meta.get("uid", ""),
        namespace=namespace,
        name=name,
        scheduler=spec.get("schedulerName") or "default-scheduler",
        node=spec.get("nodeName") or "",
        phase=status.get("phase") or "Pending",
        deleting=bool(meta.get("deletionTimestamp")),
        created=parse_time(meta.get("creationTimestamp")),
        request=request,
        error=error,
        gang=gang_of_pod(obj),
        queue=queue_of(labels),
        user=namespace,  # the tenant; a label would let one pod pass for another's
        job_name=job_of(labels),
        priority=priority if isinstance(priority, int) else 0,
        priority_class=spec.get("priorityClassName") or "",
        gpu_types=(product,) if product else (),
        dataset=labels.get(names.DATASET_LABEL, ""),
        gpu_indices=indices,
        constraints=constraints,
        rules=rules,
        unschedulable_message=_unschedulable_message(status),
        booked=booked,
        resource_version=meta.get("resourceVersion", ""),
        labels=labels,
    )


def _unschedulable_message(status: Mapping[str, Any]) -> str:
    for condition in status.get("conditions") or ():
        if condition.get("type") == names.POD_SCHEDULED and condition.get("status") == "False":
            return condition.get("message") or ""
    return ""


def booked_message(request: TaskRequest, gpus: tuple[int, ...]) -> str:
    """The message of the :data:`~corral.k8s.conventions.BOOKED_CONDITION` for a share (its
    GPU memory as requested: 0 for "its share of the GPU")."""
    return (f"gpu-milli={request.gpu_milli} gpu-memory-mib={request.gpu_memory_mib} "
            f"gpu-index={','.join(map(str, gpus))}")


def _booked(spec: Mapping[str, Any], status: Mapping[str, Any]
            ) -> tuple[TaskRequest, tuple[int, ...]] | None:
    """The share and GPUs of the scheduler's booked-share condition, with the CPU and memory of
    the spec (which cannot change); None without a readable one."""
    for condition in status.get("conditions") or ():
        if isinstance(condition, Mapping) and condition.get("type") == names.BOOKED_CONDITION:
            message = str(condition.get("message") or "")
            fields = dict(item.split("=", 1) for item in message.split() if "=" in item)
            try:
                milli, memory = int(fields["gpu-milli"]), int(fields["gpu-memory-mib"])
                gpus = _indices(fields.get("gpu-index", ""))
                totals = _effective(spec)
            except (KeyError, ValueError, InvalidSpec):
                return None
            if not 0 < milli < MILLI or memory < 0:
                return None
            return TaskRequest(milli, totals.get("cpu", 0), totals.get("memory", 0),
                               memory), gpus
    return None


def _indices(text: str) -> tuple[int, ...]:
    return tuple(int(i) for i in text.split(",") if i)


def task_request(spec: Mapping[str, Any], annotations: Mapping[str, str]) -> TaskRequest:
    """The effective request of a pod spec; InvalidSpec naming the bad field."""
    totals = _effective(spec)
    whole = totals.get(names.WHOLE_GPU_RESOURCE, 0)
    share = totals.get(names.SHARE_RESOURCE, 0)
    if whole and share:
        raise InvalidSpec(f"asks for both {names.WHOLE_GPU_RESOURCE} and "
                          f"{names.SHARE_RESOURCE}; a pod takes whole GPUs or one share")
    gpu_milli, gpu_memory = whole * MILLI, 0
    if share:
        text = annotations.get(names.FRACTION)
        if text is None:
            raise InvalidSpec(f"asks for {names.SHARE_RESOURCE} without the "
                              f"{names.FRACTION} annotation")
        gpu_milli = gpus_to_milli(text)
        if not 0 < gpu_milli < MILLI:
            raise InvalidSpec(f"{names.FRACTION} must be between 0 and 1, got {text!r}")
        if annotations.get(names.MEMORY):
            gpu_memory = memory_mib(annotations[names.MEMORY])
    return TaskRequest(gpu_milli, totals.get("cpu", 0), totals.get("memory", 0), gpu_memory)


def _effective(spec: Mapping[str, Any]) -> dict[str, int]:
    """Per resource: max(sum of containers, largest init container) + overhead."""
    def amounts(container: Mapping[str, Any]) -> dict[str, int]:
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        out = {}
        for resource, value in merged.items():
            out[resource] = _convert(resource, value)
        return out

    total: dict[str, int] = {}
    for container in spec.get("containers") or ():
        for resource, value in amounts(container).items():
            total[resource] = total.get(resource, 0) + value
    for container in spec.get("initContainers") or ():
        for resource, value in amounts(container).items():
            total[resource] = max(total.get(resource, 0), value)
    for resource, value in (spec.get("overhead") or {}).items():
        total[resource] = total.get(resource, 0) + _convert(resource, value)
    return total


def _convert(resource: str, value: Any) -> int:
    try:
        if resource == "cpu":
            return cpu_milli(value)
        if resource == "memory":
            return memory_mib(value)
        if resource in (names.WHOLE_GPU_RESOURCE, names.SHARE_RESOURCE):
            return count(value, resource)
    except InvalidSpec as exc:
        raise InvalidSpec(f"{resource}: {exc}") from None
    return 0


def parse_time(text: str | None) -> float:
    """RFC 3339 (``2024-05-01T10:00:00Z``) as epoch seconds; 0.0 when absent or unreadable."""
    if not text:
        return 0.0
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0
