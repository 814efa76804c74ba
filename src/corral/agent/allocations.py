"""Which GPU of this node is held by whom: whole-GPU and MIG claims, fractional shares, health.

One lock guards it all, because the kubelet's Allocate calls (gRPC threads) and the agent's
tick both change it. Every change bumps :attr:`NodeGpus.version`, which wakes the ListAndWatch
streams so the kubelet sees withdrawn and freed devices at once.

Invariants, enforced here rather than trusted to the scheduler: a GPU hosting shares is never
handed out whole (and the reverse); the shares on one GPU add up to at most 1000 milli and to
at most its memory; nothing new lands on an unhealthy GPU.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from corral.agent.nvml import GpuInfo
from corral.agent.shares import MILLI_PER_GPU, GpuShare, ShareRefused

CLAIM_GRACE_S = 120.0
"""How long a fresh whole-GPU claim is kept without the kubelet's checkpoint confirming it: the
kubelet writes its checkpoint only after Allocate returns."""


class AllocationRefused(ShareRefused):
    """Whole GPUs or MIG instances that cannot be handed out (shared, unhealthy, unknown)."""


@dataclass(frozen=True)
class ShareHolder:
    """A fractional pod and the share it holds."""

    pod_uid: str
    namespace: str
    name: str
    share: GpuShare


@dataclass(frozen=True)
class Claim:
    """A device (GPU or MIG UUID) handed out whole; ``pod_uid`` is empty until the checkpoint
    names the pod (Allocate does not say which pod it is for)."""

    device_id: str
    since: float
    pod_uid: str = ""


class NodeGpus:
    """The node's GPUs and who holds them (see the module docstring)."""

    def __init__(self, gpus: Iterable[GpuInfo]) -> None:
        self.gpus = {gpu.index: gpu for gpu in gpus}
        self._by_uuid = {gpu.uuid: gpu.index for gpu in self.gpus.values()}
        self._mig_parent = {mig.uuid: gpu.index for gpu in self.gpus.values()
                            for mig in gpu.mig_instances}
        self._changed = threading.Condition()
        self.version = 0
        self._unhealthy: dict[int, str] = {}
        self._shares: dict[str, ShareHolder] = {}
        self._claims: dict[str, Claim] = {}

    # -- reading --------------------------------------------------------------------------
    def unhealthy(self) -> dict[int, str]:
        with self._changed:
            return dict(self._unhealthy)

    def shares(self) -> list[ShareHolder]:
        with self._changed:
            return list(self._shares.values())

    def shares_on(self, index: int) -> list[ShareHolder]:
        return [h for h in self.shares() if h.share.gpu_index == index]

    def claims(self) -> list[Claim]:
        with self._changed:
            return list(self._claims.values())

    def available_whole(self, device_id: str) -> bool:
        """Whether a GPU or MIG instance (by UUID) may be handed out whole now."""
        with self._changed:
            return not self._why_not_whole(device_id)

    def shareable(self, index: int) -> bool:
        """Whether a share may land on GPU *index*: healthy, no MIG, not held whole."""
        gpu = self.gpus[index]
        with self._changed:
            return (index not in self._unhealthy and not gpu.mig_enabled
                    and gpu.uuid not in self._claims)

    def wait_for_change(self, seen: int, timeout: float,
                        stop: threading.Event | None = None) -> int:
        """Block until :attr:`version` differs from *seen*, *stop* is set (and :meth:`wake`
        called), or *timeout* seconds pass."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.version != seen or (stop is not None and stop.is_set()), timeout)
            return self.version

    def wake(self) -> None:
        """Wake the waiters of :meth:`wait_for_change` so they look at their stop events."""
        with self._changed:
            self._changed.notify_all()

    # -- changing -------------------------------------------------------------------------
    def mark_unhealthy(self, index: int, reason: str) -> bool:
        """Withdraw GPU *index*; True if it was healthy until now. Sticky until restart,
        as in NVIDIA's plugin: a GPU that raised a fatal XID needs a reset by a person."""
        with self._changed:
            if index in self._unhealthy or index not in self.gpus:
                return False
            self._unhealthy[index] = reason
            self._bump()
            return True

    def add_share(self, holder: ShareHolder) -> None:
        """Record *holder*'s share, or raise :class:`ShareRefused` if the GPU cannot take it."""
        share = holder.share
        gpu = self.gpus.get(share.gpu_index)
        with self._changed:
            if holder.pod_uid in self._shares:
                raise ShareRefused(f"pod {holder.namespace}/{holder.name} already holds a share "
                                   "(one container per pod may ask for corral.dev/gpu-share)")
            if gpu is None:
                raise ShareRefused(f"GPU {share.gpu_index} is not on this node")
            if share.gpu_index in self._unhealthy:
                raise ShareRefused(f"GPU {share.gpu_index} is unhealthy "
                                   f"({self._unhealthy[share.gpu_index]})")
            if gpu.mig_enabled:
                raise ShareRefused(f"GPU {share.gpu_index} has MIG enabled: ask for one of its "
                                   "MIG instances instead of a share")
            if gpu.uuid in self._claims:
                raise ShareRefused(f"GPU {share.gpu_index} is held whole by another pod")
            others = [h.share for h in self._shares.values()
                      if h.share.gpu_index == share.gpu_index]
            milli = sum(s.milli for s in others) + share.milli
            if milli > MILLI_PER_GPU:
                raise ShareRefused(f"GPU {share.gpu_index} would be shared {milli}/1000 "
                                   f"(its other pods hold {milli - share.milli} milli)")
            memory = sum(s.memory_mib for s in others) + share.memory_mib
            if memory > gpu.memory_total_mib:
                raise ShareRefused(f"GPU {share.gpu_index}: shares would hold {memory} MiB of "
                                   f"its {gpu.memory_total_mib} MiB")
            self._shares[holder.pod_uid] = holder
            self._bump()

    def remove_share(self, pod_uid: str) -> None:
        with self._changed:
            if self._shares.pop(pod_uid, None) is not None:
                self._bump()

    def claim(self, device_ids: Iterable[str], now: float) -> None:
        """Hand out whole GPUs or MIG instances (by UUID), or raise :class:`AllocationRefused`.

        A device the books show claimed already is handed out again: the kubelet is the
        authority on whole devices, and it may reuse one before the next reconcile.
        """
        ids = list(device_ids)
        with self._changed:
            refused = [f"{d} ({why})" for d in ids if (why := self._why_not_whole(d))]
            if refused:
                raise AllocationRefused(f"devices not available: {', '.join(refused)}")
            for device_id in ids:
                self._claims[device_id] = Claim(device_id=device_id, since=now)
            self._bump()

    def _why_not_whole(self, device_id: str) -> str:
        """Why *device_id* cannot be handed out whole now ("" if it can); lock held."""
        index = self._by_uuid.get(device_id, self._mig_parent.get(device_id))
        if index is None:
            return "unknown device"
        if index in self._unhealthy:
            return f"GPU {index} unhealthy: {self._unhealthy[index]}"
        if device_id in self._by_uuid and self.gpus[index].mig_enabled:
            return f"GPU {index} has MIG enabled"
        if device_id in self._by_uuid and any(
                h.share.gpu_index == index for h in self._shares.values()):
            return f"GPU {index} hosts fractional pods"
        return ""

    def reconcile(self, live_shares: Iterable[ShareHolder],
                  checkpoint: dict[str, str], now: float) -> None:
        """Make the books match the pods that still run.

        *live_shares*: the fractional pods on the node that are allocated and not finished
        (from their annotations); *checkpoint*: device id -> pod uid, for the whole devices the
        kubelet's checkpoint lists for pods that still run. Fresh claims not yet in the
        checkpoint are kept for :data:`CLAIM_GRACE_S`.
        """
        shares = {h.pod_uid: h for h in live_shares}
        claims = {d: Claim(device_id=d, since=now, pod_uid=uid) for d, uid in checkpoint.items()}
        with self._changed:
            for device_id, old in self._claims.items():
                if device_id not in claims and not old.pod_uid \
                        and now - old.since < CLAIM_GRACE_S:
                    claims[device_id] = old
            if shares != self._shares or claims.keys() != self._claims.keys():
                self._shares, self._claims = shares, claims
                self._bump()
            else:
                self._claims = claims

    def gpu_of(self, device_id: str) -> int | None:
        """The GPU index of a GPU or MIG UUID (None if unknown)."""
        return self._by_uuid.get(device_id, self._mig_parent.get(device_id))

    def _bump(self) -> None:
        self.version += 1
        self._changed.notify_all()
