"""What each fractional pod was booked for at Allocate, kept by the agent on its node.

A pod's share is fixed when the kubelet allocates it: Allocate reads the scheduler's placement
annotations once, checks them (:func:`corral.agent.shares.read_share`) and books the pod. The
pod's owner can edit its annotations at any time, so from then on the agent never reads them
for what it books or enforces: it keeps the :class:`Booking` in its books and writes every
change of them to a file in a host directory only the agent writes (:class:`BookingFile`),
from which a restarted agent rebuilds its shares, checked against the share devices the
kubelet says it allocated (PodResources, or its checkpoint).

The kubelet's own checkpoint (:mod:`corral.agent.checkpoint`) says which device each pod holds
but not the share behind a share device (the GPU, milli-GPUs and memory): that is what this
file adds.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral import kube_contract as contract
from corral.agent.shares import MILLI_PER_GPU, GpuShare

BOOKINGS_FILE = "bookings.json"
FORMAT = 1
PLACEMENT_KEYS = (contract.GPU_INDEX, contract.GPU_MILLI, contract.GPU_MEMORY_MIB,
                  contract.FRACTION, contract.MEMORY, contract.ASSIGNED_NODE)
"""The annotations a share is read from at Allocate; an edit of any of them afterwards is
reported (Event ``CorralBookingEdited``) and ignored."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Booking:
    """A fractional pod's share as booked at Allocate: the pod, the share device the kubelet
    gave it, the share, and the placement annotations it was read from."""

    pod_uid: str
    namespace: str
    name: str
    share: GpuShare
    device_id: str = ""
    since: float = 0.0
    """When it was booked (the agent's clock)."""
    placement: Mapping[str, str] = field(default_factory=dict)

    def edits(self, annotations: Mapping[str, str]) -> dict[str, tuple[str | None, str | None]]:
        """Placement annotation -> (booked value, current value), for those edited since."""
        return {key: (self.placement.get(key), annotations.get(key)) for key in PLACEMENT_KEYS
                if self.placement.get(key) != annotations.get(key)}


def placement_of(annotations: Mapping[str, str]) -> dict[str, str]:
    """The placement annotations among *annotations* (what a booking keeps of them)."""
    return {key: annotations[key] for key in PLACEMENT_KEYS if key in annotations}


class BookingFile:
    """The node's bookings as a JSON file, written whole and atomically at every change."""

    def __init__(self, path: Path, node: str) -> None:
        self.path = path
        self._node = node

    def save(self, bookings: Iterable[Booking]) -> None:
        """Replace the file with *bookings*: a temporary file, flushed to disk, renamed over
        the old one, so a crash leaves the old or the new list, never half of one. Raises
        :class:`OSError` when it cannot."""
        body = {"format": FORMAT, "node": self._node,
                "bookings": [_to_json(b) for b in sorted(bookings, key=lambda b: b.pod_uid)]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, gpu_memory_mib: Mapping[int, int]) -> list[Booking]:
        """The bookings written for this node; none if the file is missing. An unreadable
        file, another node's, or an entry that does not fit the node's GPUs (index -> memory
        MiB) is logged and left out: the pods it named are then unaccounted for, and their GPUs
        taken whole until they end (see :meth:`corral.agent.allocations.NodeGpus.reconcile`)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.error("bookings file %s unreadable (%s): its pods count as unaccounted for",
                      self.path, exc)
            return []
        if not isinstance(data, dict) or data.get("format") != FORMAT \
                or data.get("node") != self._node:
            log.error("bookings file %s is not this node's (%s, format %d): ignored", self.path,
                      self._node, FORMAT)
            return []
        bookings = []
        for item in data.get("bookings") or ():
            try:
                booking = _from_json(item)
            except (KeyError, TypeError, ValueError) as exc:
                log.error("bookings file %s: entry %r unreadable (%s): ignored", self.path,
                          item, exc)
                continue
            share = booking.share
            total = gpu_memory_mib.get(share.gpu_index)
            if total is None or not 0 < share.milli < MILLI_PER_GPU \
                    or not 0 < share.memory_mib <= total:
                log.error("bookings file %s: pod %s/%s's share %s does not fit this node's "
                          "GPUs: ignored", self.path, booking.namespace, booking.name, share)
                continue
            bookings.append(booking)
        return bookings


def _to_json(booking: Booking) -> dict[str, Any]:
    share = booking.share
    return {"pod_uid": booking.pod_uid, "namespace": booking.namespace, "name": booking.name,
            "device_id": booking.device_id, "since": booking.since,
            "gpu_index": share.gpu_index, "milli": share.milli, "memory_mib": share.memory_mib,
            "placement": dict(booking.placement)}


def _from_json(item: Mapping[str, Any]) -> Booking:
    share = GpuShare(gpu_index=_int(item["gpu_index"]), milli=_int(item["milli"]),
                     memory_mib=_int(item["memory_mib"]))
    placement = item.get("placement") or {}
    if not isinstance(placement, dict):
        raise TypeError("placement is not an object")
    return Booking(pod_uid=str(item["pod_uid"]), namespace=str(item["namespace"]),
                   name=str(item["name"]), share=share, device_id=str(item.get("device_id", "")),
                   since=float(item.get("since", 0.0)),
                   placement={str(k): str(v) for k, v in placement.items()})


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{value!r} is not an integer")
    return value
