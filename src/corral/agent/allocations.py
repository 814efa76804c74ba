"""Which GPU of this node is held by whom: whole-GPU and MIG claims, fractional shares, health.

One lock guards it all, because the kubelet's Allocate calls (gRPC threads) and the agent's
tick both change it. Every change bumps :attr:`NodeGpus.version`, which wakes the ListAndWatch
streams so the kubelet sees withdrawn and freed devices at once.

Invariants, enforced here rather than trusted to the scheduler: a GPU hosting shares is never
handed out whole (and the reverse); the shares on one GPU add up to at most 1000 milli and to
at most its memory; nothing new lands on an unhealthy GPU. A share, once booked at Allocate,
changes only when its pod ends: the books never read a pod's annotations again (see
:mod:`corral.agent.bookings`), and every change of them is written to the node's bookings file
before it takes effect. Where the kubelet says a pod holds a share that no booking explains, the
GPU is taken whole until the pod ends (:class:`Unaccounted`): over-reserve, never under.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from corral.agent.bookings import Booking, BookingFile
from corral.agent.nvml import GpuInfo
from corral.agent.shares import MILLI_PER_GPU, ShareRefused

CLAIM_GRACE_S = 120.0
"""How long a fresh whole-GPU claim is kept without the kubelet's checkpoint confirming it: the
kubelet writes its checkpoint only after Allocate returns."""


class AllocationRefused(ShareRefused):
    """Whole GPUs or MIG instances that cannot be handed out (shared, unhealthy, unknown)."""


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unaccounted:
    """A pod that holds a share device (as the kubelet, or failing that the pod's own mark,
    says) but has no booking: its share is unknown, so *gpu_indices* (every GPU it may be on)
    are taken whole until it ends."""

    pod_uid: str
    namespace: str
    name: str
    gpu_indices: tuple[int, ...]
    evidence: str
    """What says it holds a share (for the log)."""


@dataclass(frozen=True)
class Claim:
    """A device (GPU or MIG UUID) handed out whole; ``pod_uid`` is empty until the checkpoint
    names the pod (Allocate does not say which pod it is for)."""

    device_id: str
    since: float
    pod_uid: str = ""


class NodeGpus:
    """The node's GPUs and who holds them (see the module docstring)."""

    def __init__(self, gpus: Iterable[GpuInfo], record: BookingFile | None = None) -> None:
        self.gpus = {gpu.index: gpu for gpu in gpus}
        self._by_uuid = {gpu.uuid: gpu.index for gpu in self.gpus.values()}
        self._mig_parent = {mig.uuid: gpu.index for gpu in self.gpus.values()
                            for mig in gpu.mig_instances}
        self._changed = threading.Condition()
        self.version = 0
        self._unhealthy: dict[int, str] = {}
        self._record = record
        self._shares: dict[str, Booking] = {}
        if record is not None:
            self._shares = {b.pod_uid: b for b in record.load(
                {i: g.memory_total_mib for i, g in self.gpus.items()})}
        self._unaccounted: dict[str, Unaccounted] = {}
        self._claims: dict[str, Claim] = {}

    # -- reading --------------------------------------------------------------------------
    def unhealthy(self) -> dict[int, str]:
        with self._changed:
            return dict(self._unhealthy)

    def shares(self) -> list[Booking]:
        """The bookings of the fractional pods on the node."""
        with self._changed:
            return list(self._shares.values())

    def shares_on(self, index: int) -> list[Booking]:
        return [h for h in self.shares() if h.share.gpu_index == index]

    def booking(self, pod_uid: str) -> Booking | None:
        with self._changed:
            return self._shares.get(pod_uid)

    def unaccounted(self) -> list[Unaccounted]:
        with self._changed:
            return list(self._unaccounted.values())

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
                    and gpu.uuid not in self._claims and not self._taken_by(index))

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

    def add_share(self, holder: Booking) -> None:
        """Book *holder*'s share (in memory and in the bookings file), or raise
        :class:`ShareRefused` if the GPU cannot take it or the booking cannot be written."""
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
            if taker := self._taken_by(share.gpu_index):
                raise ShareRefused(f"GPU {share.gpu_index} is taken whole: pod "
                                   f"{taker.namespace}/{taker.name} holds a share of it that the "
                                   "agent has no booking for")
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
            shares = {**self._shares, holder.pod_uid: holder}
            if self._record is not None:
                try:
                    self._record.save(shares.values())
                except OSError as exc:
                    raise ShareRefused(f"cannot record the booking in "
                                       f"{self._record.path}: {exc}") from None
            self._shares = shares
            self._bump()

    def remove_share(self, pod_uid: str) -> None:
        with self._changed:
            if pod_uid in self._shares:
                self._set_shares({u: b for u, b in self._shares.items() if u != pod_uid})
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
        if taker := self._taken_by(index):
            return f"GPU {index} taken by pod {taker.namespace}/{taker.name}, whose share " \
                   "has no booking"
        return ""

    def _taken_by(self, index: int) -> Unaccounted | None:
        """The first unaccounted-for pod that may be on GPU *index*; lock held."""
        return next((u for u in self._unaccounted.values() if index in u.gpu_indices), None)

    def reconcile(self, live: set[str], listed_at: float, share_holders: Iterable[Unaccounted],
                  checkpoint: Mapping[str, str], now: float) -> None:
        """Make the books match the pods that still run.

        *live*: the uids of the node's pods that have not finished, as listed at *listed_at*
        (a booking made since then is kept: its pod may not have been listed yet);
        *share_holders*: the live pods the kubelet says hold a share device, each with every
        GPU it may be on; those without a booking are kept as :class:`Unaccounted`, their GPUs
        taken whole. Bookings are never read from the pods again. *checkpoint*: device id ->
        pod uid, for the whole devices the kubelet lists for pods that still run. Fresh claims
        not yet listed are kept for :data:`CLAIM_GRACE_S`.
        """
        claims = {d: Claim(device_id=d, since=now, pod_uid=uid) for d, uid in checkpoint.items()}
        with self._changed:
            shares = {u: b for u, b in self._shares.items() if u in live or b.since > listed_at}
            unaccounted = {h.pod_uid: h for h in share_holders if h.pod_uid not in shares}
            for device_id, old in self._claims.items():
                if device_id not in claims and not old.pod_uid \
                        and now - old.since < CLAIM_GRACE_S:
                    claims[device_id] = old
            changed = shares.keys() != self._shares.keys() \
                or unaccounted != self._unaccounted or claims.keys() != self._claims.keys()
            if shares.keys() != self._shares.keys():
                self._set_shares(shares)
            self._unaccounted, self._claims = unaccounted, claims
            if changed:
                self._bump()

    def _set_shares(self, shares: dict[str, Booking]) -> None:
        """Replace the bookings by *shares*, a subset of them (pods that ended); lock held.
        Failing to write the file is only logged: it then books more than the node holds,
        until the next write, never less."""
        self._shares = shares
        if self._record is not None:
            try:
                self._record.save(shares.values())
            except OSError as exc:
                log.error("cannot write the bookings file %s: %s", self._record.path, exc)

    def gpu_of(self, device_id: str) -> int | None:
        """The GPU index of a GPU or MIG UUID (None if unknown)."""
        return self._by_uuid.get(device_id, self._mig_parent.get(device_id))

    def _bump(self) -> None:
        self.version += 1
        self._changed.notify_all()
