"""The resources the agent's device plugins serve, one class per kind.

- :class:`WholeGpus` (``nvidia.com/gpu``): GPUs by UUID, as NVIDIA's plugin serves them. A GPU
  hosting a share is listed unhealthy here, so the kubelet never hands it out whole.
- :class:`GpuShares` (``corral.dev/gpu-share``): a few share slots per GPU. The slot the kubelet
  picks does not choose the GPU: the pod's ``corral.dev/gpu-index`` does, read at Allocate and
  booked (:mod:`corral.agent.bookings`); the pod's annotations are never read again.
- :class:`MigInstances` (``nvidia.com/mig-<profile>``): MIG instances by UUID, on GPUs with
  MIG on (shares never land there).

Allocate is not told which pod it serves. For shares, the agent takes the oldest pod on its
node that asks for a share, has been placed, and is not yet allocated (as HAMi does).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from corral import kube_contract as contract
from corral.agent.allocations import NodeGpus
from corral.agent.bookings import Booking, placement_of
from corral.agent.kube import KubeApi, KubeError, PodInfo
from corral.agent.mps import CONTAINER_PIPE_DIR, MpsDaemons, MpsError, client_env
from corral.agent.shares import ShareRefused, read_share

SLOTS_PER_GPU = 10
"""Share slots advertised per GPU: the most fractional pods the kubelet admits onto one GPU."""


@dataclass(frozen=True)
class Device:
    id: str
    healthy: bool


@dataclass(frozen=True)
class Mount:
    container_path: str
    host_path: str
    read_only: bool = False


@dataclass(frozen=True)
class Grant:
    """What a container gets for its devices."""

    envs: dict[str, str]
    mounts: tuple[Mount, ...] = field(default=())


class Resource(Protocol):
    """One extended resource, served by one device plugin."""

    name: str

    def devices(self) -> list[Device]: ...

    def allocate(self, device_ids: Sequence[str]) -> Grant:
        """The container's grant, or :class:`ShareRefused` (its message goes to the kubelet)."""
        ...

    def preferred(self, available: Sequence[str], must_include: Sequence[str],
                  size: int) -> list[str]: ...


class WholeGpus:
    """``nvidia.com/gpu`` on the node's GPUs without MIG."""

    name = contract.WHOLE_GPU_RESOURCE

    def __init__(self, gpus: NodeGpus, clock: Callable[[], float] = time.time) -> None:
        self._gpus = gpus
        self._clock = clock
        self._uuids = [g.uuid for g in sorted(gpus.gpus.values(), key=lambda g: g.index)
                       if not g.mig_enabled]

    def devices(self) -> list[Device]:
        return [Device(uuid, self._gpus.available_whole(uuid)) for uuid in self._uuids]

    def allocate(self, device_ids: Sequence[str]) -> Grant:
        self._gpus.claim(device_ids, self._clock())
        return Grant(envs={"NVIDIA_VISIBLE_DEVICES": ",".join(device_ids)})

    def preferred(self, available: Sequence[str], must_include: Sequence[str],
                  size: int) -> list[str]:
        """The required ones, then free GPUs in index order (kept together for NVLink)."""
        chosen = list(must_include)
        rest = sorted((d for d in available if d not in chosen and self._gpus.available_whole(d)),
                      key=lambda d: self._gpus.gpu_of(d) or 0)
        return chosen + rest[:max(0, size - len(chosen))]


class MigInstances:
    """``nvidia.com/mig-<profile>``: the MIG instances of one profile on this node."""

    def __init__(self, gpus: NodeGpus, profile: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.name = contract.MIG_RESOURCE_PREFIX + profile
        self._gpus = gpus
        self._clock = clock
        self._uuids = [m.uuid for g in sorted(gpus.gpus.values(), key=lambda g: g.index)
                       for m in g.mig_instances if m.profile == profile]

    def devices(self) -> list[Device]:
        return [Device(uuid, self._gpus.available_whole(uuid)) for uuid in self._uuids]

    def allocate(self, device_ids: Sequence[str]) -> Grant:
        self._gpus.claim(device_ids, self._clock())
        return Grant(envs={"NVIDIA_VISIBLE_DEVICES": ",".join(device_ids)})

    def preferred(self, available: Sequence[str], must_include: Sequence[str],
                  size: int) -> list[str]:
        chosen = list(must_include)
        return chosen + [d for d in available if d not in chosen][:max(0, size - len(chosen))]


class GpuShares:
    """``corral.dev/gpu-share``: fractional GPUs enforced by MPS (see the module docstring)."""

    name = contract.SHARE_RESOURCE

    def __init__(self, gpus: NodeGpus, kube: KubeApi, mps: MpsDaemons, node: str,
                 slots_per_gpu: int = SLOTS_PER_GPU,
                 clock: Callable[[], float] = time.time) -> None:
        self._gpus = gpus
        self._clock = clock
        self._kube = kube
        self._mps = mps
        self._node = node
        self._indices = sorted(g.index for g in gpus.gpus.values() if not g.mig_enabled)
        self._slots = slots_per_gpu

    def devices(self) -> list[Device]:
        return [Device(slot_id(index, slot), self._gpus.shareable(index))
                for index in self._indices for slot in range(self._slots)]

    def allocate(self, device_ids: Sequence[str]) -> Grant:
        if len(device_ids) != 1:
            raise ShareRefused(f"{self.name}: a container asks for exactly 1, not "
                               f"{len(device_ids)}")
        pod = self._next_waiting_pod()
        try:
            share = read_share(pod.annotations, {i: self._gpus.gpus[i].memory_total_mib
                                                 for i in self._indices})
            self._gpus.add_share(Booking(pod.uid, pod.namespace, pod.name, share,
                                         device_id=device_ids[0], since=self._clock(),
                                         placement=placement_of(pod.annotations)))
        except ShareRefused as exc:
            self._tell(pod, str(exc))
            raise
        try:
            self._mps.ensure(share.gpu_index)
            # The mark that this pod is served (the booking, not this, is what counts).
            self._kube.annotate_pod(pod, {contract.ALLOCATED: device_ids[0]})
        except (MpsError, KubeError) as exc:
            self._gpus.remove_share(pod.uid)
            self._tell(pod, f"GPU share not enforced, so refused: {exc}")
            raise ShareRefused(str(exc)) from None
        gpu = self._gpus.gpus[share.gpu_index]
        return Grant(envs=client_env(share, gpu.uuid),
                     mounts=(Mount(CONTAINER_PIPE_DIR, str(self._mps.pipe_dir(share.gpu_index))),
                             Mount("/dev/shm", str(self._mps.shm_dir))))

    def preferred(self, available: Sequence[str], must_include: Sequence[str],
                  size: int) -> list[str]:
        """A slot on the GPU the next waiting pod was placed on, so that the kubelet's own
        records (PodResources) name the right GPU."""
        chosen = list(must_include)
        try:
            index = self._next_waiting_pod().annotations.get(contract.GPU_INDEX, "")
        except ShareRefused:
            index = ""
        rest = [d for d in available if d not in chosen]
        rest.sort(key=lambda d: not d.startswith(f"gpu{index.strip()}-"))
        return chosen + rest[:max(0, size - len(chosen))]

    def _next_waiting_pod(self) -> PodInfo:
        try:
            pods = self._kube.pods_on_node(self._node)
        except KubeError as exc:
            raise ShareRefused(f"cannot list the pods on node {self._node}: {exc}") from None
        served = {h.pod_uid for h in self._gpus.shares()} | \
            {u.pod_uid for u in self._gpus.unaccounted()}
        waiting = sorted((p for p in pods if not p.finished and p.asks_for(self.name)
                          and contract.ALLOCATED not in p.annotations
                          and p.annotations.get(contract.ASSIGNED_NODE, self._node) == self._node
                          and p.uid not in served),
                         key=lambda p: (p.created, p.namespace, p.name))
        if not waiting:
            raise ShareRefused(f"no pod on node {self._node} is waiting for a GPU share")
        return waiting[0]

    def _tell(self, pod: PodInfo, message: str) -> None:
        with contextlib.suppress(KubeError):  # the refusal stands; the Event is a courtesy
            self._kube.pod_event(pod, contract.EVENT_SHARE_REFUSED, message)


def slot_id(index: int, slot: int) -> str:
    return f"gpu{index}-{slot}"


def slot_gpu(device_id: str) -> int | None:
    """The GPU index a share slot id names (``gpu3-7`` -> 3), None if it is not one."""
    head, _, slot = device_id.partition("-")
    if not (head.startswith("gpu") and head[3:].isdigit() and slot.isdigit()):
        return None
    return int(head[3:])
