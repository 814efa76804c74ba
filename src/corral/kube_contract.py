"""Names the scheduler and the node agent share on Kubernetes objects (resources, labels,
annotations and taints, ``corral.dev``), and the rule by which both file a pod under a queue
and a job.

Neutral ground: it imports nothing of Corral's but the model, so the live scheduler
(:mod:`corral.k8s`) and the node agent (:mod:`corral.agent`) both read it without loading each
other. The scheduler writes the placement annotations before binding; the agent reads them at
Allocate and writes the ``*_USED`` / ``ALLOCATED`` / health annotations. docs/gpu-sharing.md
describes them.
"""

from __future__ import annotations

from collections.abc import Mapping

from corral.model import DEFAULT_QUEUE

GROUP = "corral.dev"

SHARE_RESOURCE = f"{GROUP}/gpu-share"
"""Extended resource a fractional pod's container asks for (limit 1)."""
WHOLE_GPU_RESOURCE = "nvidia.com/gpu"
"""Whole GPUs, served as NVIDIA's device plugin serves them, so whole-GPU pods need no change."""
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
"""MIG instances per profile (``nvidia.com/mig-1g.10gb``), NVIDIA's "mixed" naming."""
RESERVED_TAINT = f"{GROUP}/reserved"
"""``NoSchedule`` taint that reserves a GPU node for Corral: the stock kube-scheduler keeps its
pods off, so two schedulers never race for one node's GPUs. Corral's own pods are taken to
tolerate it (the kubelet enforces only ``NoExecute`` taints at admission)."""
RESERVED_TAINT_VALUE = "corral"
"""The value of :data:`RESERVED_TAINT` the node agent writes (``--reserve-node``)."""

# Written by the user (the request).
FRACTION = f"{GROUP}/gpu-fraction"
MEMORY = f"{GROUP}/gpu-memory"
# Written by the scheduler before binding (the placement).
GPU_INDEX = f"{GROUP}/gpu-index"
GPU_MILLI = f"{GROUP}/gpu-milli"
GPU_MEMORY_MIB = f"{GROUP}/gpu-memory-mib"
ASSIGNED_NODE = f"{GROUP}/assigned-node"
# Written by the agent.
ALLOCATED = f"{GROUP}/gpu-allocated"
"""The share device the kubelet allocated to the pod: marks it as no longer waiting for Allocate.
The tenant can edit it like any annotation, so the agent books from its own record on the node
(:mod:`corral.agent.bookings`), never from this."""
MEMORY_USED_MIB = f"{GROUP}/gpu-memory-used-mib"
NODE_GPU_HEALTH = f"{GROUP}/gpu-health"

# Pod labels that name the job and queue in metrics and history rows.
QUEUE_LABELS = (f"{GROUP}/queue", "kueue.x-k8s.io/queue-name")
"""Corral's label wins when both are set."""
JOB_LABELS = (f"{GROUP}/job", "job-name")
"""``job-name`` is what Kubernetes Jobs put on their pods; without either, the pod is the job."""


def queue_of(labels: Mapping[str, str]) -> str:
    """The queue a pod is filed under, by the scheduler and the agent alike: the first of
    :data:`QUEUE_LABELS` set, else the default queue."""
    return next((labels[k] for k in QUEUE_LABELS if labels.get(k)), DEFAULT_QUEUE)


def job_of(labels: Mapping[str, str]) -> str:
    """The job a pod belongs to by its labels (the first of :data:`JOB_LABELS` set); '' when
    it names none (the pod is then its own job)."""
    return next((labels[k] for k in JOB_LABELS if labels.get(k)), "")

USER_LABEL = f"{GROUP}/user"

EVENT_SHARE_REFUSED = "CorralGpuShareRefused"
EVENT_MEMORY_OVER_REQUEST = "CorralGpuMemoryOverRequest"
EVENT_MPS_RESTARTED = "CorralMpsRestarted"
EVENT_BOOKING_EDITED = "CorralBookingEdited"
"""A pod's ``corral.dev`` annotations were edited after the kubelet allocated its share: the
agent ignores the edit (it enforces what it booked at Allocate) and says so on the pod."""
