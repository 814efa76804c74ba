"""The kubelet's device-manager checkpoint: which pod holds which whole device.

Allocate is not told the pod, so after a restart the agent learns the holders of whole GPUs and
MIG instances from this file (``kubelet_internal_checkpoint`` in the device-plugin directory),
which the kubelet rewrites after every allocation, where the PodResources API does not answer.
For shares it says which pod holds which share slot, not the share itself: that is in the
agent's own bookings file (:mod:`corral.agent.bookings`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CHECKPOINT_FILE = "kubelet_internal_checkpoint"


@dataclass(frozen=True)
class CheckpointEntry:
    pod_uid: str
    container: str
    resource: str
    device_ids: tuple[str, ...]


def read_checkpoint(path: Path) -> list[CheckpointEntry]:
    """The entries of the kubelet's checkpoint; none if it is missing or unreadable.

    ``DeviceIDs`` is a list in old kubelets and a map of NUMA node -> list since 1.20.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        raw = data["Data"]["PodDeviceEntries"] or []
    except (OSError, ValueError, KeyError, TypeError):
        return []
    entries = []
    for item in raw:
        ids = item.get("DeviceIDs") or []
        if isinstance(ids, dict):
            ids = [d for numa in ids.values() for d in numa or ()]
        entries.append(CheckpointEntry(pod_uid=item.get("PodUID", ""),
                                       container=item.get("ContainerName", ""),
                                       resource=item.get("ResourceName", ""),
                                       device_ids=tuple(ids)))
    return entries


def held_devices(entries: Iterable[CheckpointEntry], resources: Iterable[str],
                 live_pods: set[str]) -> dict[str, str]:
    """Device id -> pod uid, for *resources* held by the pods in *live_pods*."""
    wanted = set(resources)
    return {device: entry.pod_uid for entry in entries
            if entry.resource in wanted and entry.pod_uid in live_pods
            for device in entry.device_ids}


def devices_by_pod(entries: Iterable[CheckpointEntry], resource: str,
                   live_pods: set[str]) -> dict[str, tuple[str, ...]]:
    """Pod uid -> the devices of *resource* it holds, for the pods in *live_pods*."""
    held: dict[str, tuple[str, ...]] = {}
    for entry in entries:
        if entry.resource == resource and entry.pod_uid in live_pods:
            held[entry.pod_uid] = held.get(entry.pod_uid, ()) + entry.device_ids
    return held
