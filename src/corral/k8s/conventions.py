"""The names the scheduler reads and writes on API objects: the ecosystem's, and Corral's own.

Names the node agent shares with the scheduler (the fractional-GPU annotations, the
``corral.dev/gpu-share`` resource, the queue and job labels) come from
:mod:`corral.kube_contract`, the one place they are defined; the data cache's node annotation
from :mod:`corral.datacache.report`. Everything else the scheduler alone uses is here.
"""

from __future__ import annotations

from typing import NamedTuple

from corral.datacache.report import ANNOTATION as CACHED_DATASETS
from corral.kube_contract import (
    ASSIGNED_NODE,
    EVENT_BOOKING_EDITED,
    FRACTION,
    GPU_INDEX,
    GPU_MEMORY_MIB,
    GPU_MILLI,
    GROUP,
    JOB_LABELS,
    MEMORY,
    QUEUE_LABELS,
    RESERVED_TAINT,
    SHARE_RESOURCE,
    WHOLE_GPU_RESOURCE,
)

__all__ = [
    "ASSIGNED_NODE",
    "CACHED_DATASETS",
    "EVENT_BOOKING_EDITED",
    "FRACTION",
    "GPU_INDEX",
    "GPU_MEMORY_MIB",
    "GPU_MILLI",
    "GROUP",
    "JOB_LABELS",
    "MEMORY",
    "QUEUE_LABELS",
    "RESERVED_TAINT",
    "SHARE_RESOURCE",
    "WHOLE_GPU_RESOURCE",
]

SCHEDULER_NAME = "corral"
"""The ``spec.schedulerName`` pods opt in with (``--scheduler-name`` changes it)."""

# GPU Feature Discovery node labels.
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
GPU_MEMORY_LABEL = "nvidia.com/gpu.memory"
"""MiB per GPU, as GFD writes it."""
GPU_COUNT_LABEL = "nvidia.com/gpu.count"
TOPOLOGY_LABELS = ("corral.dev/topology", "topology.kubernetes.io/zone")
"""Node labels naming the node's network domain, Corral's first."""

DATASET_LABEL = f"{GROUP}/dataset"
"""Pod label naming the training dataset a job reads (for data-aware placement)."""

# Corral's own Queue custom resource (cluster-scoped).
QUEUE_API = ("corral.dev", "v1alpha1", "queues")


class GangKind(NamedTuple):
    """A gang convention: the group object's API, and how a pod names its group."""

    name: str
    group: str
    version: str
    plural: str
    pod_label: str = ""
    pod_annotation: str = ""
    pod_field: tuple[str, ...] = ()
    """A path into the pod's ``spec``, e.g. ``("schedulingGroup", "podGroupName")``."""


SCHEDULER_PLUGINS = GangKind("scheduler-plugins", "scheduling.x-k8s.io", "v1alpha1",
                             "podgroups", pod_label="scheduling.x-k8s.io/pod-group")
"""kubernetes-sigs/scheduler-plugins' coscheduling PodGroup (``minMember``,
``scheduleTimeoutSeconds``); Corral writes its ``status.phase``."""
UPSTREAM = GangKind("upstream", "scheduling.k8s.io", "v1alpha2", "podgroups",
                    pod_field=("schedulingGroup", "podGroupName"))
"""The in-tree gang API (``scheduling.k8s.io``), used only where the API server serves it; the
version is found by discovery, this one is the first tried."""
VOLCANO = GangKind("volcano", "scheduling.volcano.sh", "v1beta1", "podgroups",
                   pod_annotation="scheduling.k8s.io/group-name")
"""Volcano's annotation, with its PodGroup (``minMember``) where that is served."""
GANG_KINDS = (SCHEDULER_PLUGINS, UPSTREAM, VOLCANO)

UPSTREAM_VERSIONS = ("v1alpha2", "v1alpha1", "v1beta1", "v1")
"""Versions of ``scheduling.k8s.io`` probed for ``podgroups``, newest shape first."""

DEFAULT_GANG_TIMEOUT_S = 60.0
"""How long a gang may stay partly bound before its bound members are undone."""

# Pod condition and event reasons.
POD_SCHEDULED = "PodScheduled"
UNSCHEDULABLE = "Unschedulable"
SCHEDULER_ERROR = "SchedulerError"
"""The PodScheduled reason kube-scheduler gives a pod it cannot even try (a malformed spec)."""
EVENT_WAITING = "CorralWaiting"
EVENT_SCHEDULED = "Scheduled"
EVENT_PREEMPTED = "Preempted"
EVENT_BIND_FAILED = "CorralBindFailed"
EVENT_GANG_UNDONE = "CorralGangUndone"
EVENT_BAD_SPEC = "CorralInvalidSpec"
EVENT_EVICTION_BLOCKED = "CorralEvictionBlocked"
EVENT_OVERCOMMIT = "CorralOvercommit"
"""Another scheduler bound a pod onto GPUs Corral had booked: the node holds more than it has."""

BOOKED_CONDITION = f"{GROUP}/Booked"
"""Pod condition the scheduler writes on a fractional pod it bound, through ``pods/status``
(which a pod's owner may not write): the share it was admitted with, e.g.
``gpu-milli=600 gpu-memory-mib=49152 gpu-index=3``. A restarted scheduler books the pod from
it, not from annotations its owner may have edited meanwhile."""

LEASE_NAME = "corral-scheduler"
COMPONENT = "corral-scheduler"
"""The ``source.component`` of Events the scheduler writes."""
