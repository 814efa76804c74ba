"""Which pod holds which device, from the kubelet's PodResources API (v1, ``List``).

The kubelet serves it on ``/var/lib/kubelet/pod-resources/kubelet.sock`` and answers from its
own live allocation state, so it is the agent's first source when rebuilding its books after a
restart; the device-manager checkpoint file (:mod:`corral.agent.checkpoint`), an internal file
whose format is not an API, is the fallback when the socket is absent or does not answer.
PodResources names pods by namespace and name, not UID: they are matched to the node's pods.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc

from corral.agent.kube import PodInfo
from corral.agent.podresources import api_pb2, api_pb2_grpc

DEFAULT_SOCKET = Path("/var/lib/kubelet/pod-resources/kubelet.sock")
TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceHolding:
    """Devices of one resource held by one container of one pod."""

    namespace: str
    pod: str
    container: str
    resource: str
    device_ids: tuple[str, ...]


def list_pod_devices(socket: Path, timeout: float = TIMEOUT_S) -> list[DeviceHolding] | None:
    """Every device the kubelet has allocated on this node, or None when its PodResources
    socket is missing or does not answer (then the caller falls back to the checkpoint)."""
    if not socket.exists():
        return None
    try:
        with grpc.insecure_channel(f"unix://{socket}") as channel:
            stub = api_pb2_grpc.PodResourcesListerStub(channel)
            response = stub.List(api_pb2.ListPodResourcesRequest(), timeout=timeout)
    except grpc.RpcError as exc:
        log.warning("PodResources List on %s failed: %s", socket, exc)
        return None
    return [DeviceHolding(pod.namespace, pod.name, container.name, devices.resource_name,
                          tuple(devices.device_ids))
            for pod in response.pod_resources for container in pod.containers
            for devices in container.devices]


def held_devices_from(holdings: Iterable[DeviceHolding], resources: Iterable[str],
                      pods: Iterable[PodInfo]) -> dict[str, str]:
    """Device id -> pod uid, for *resources* held by the pods in *pods* that still run."""
    wanted = set(resources)
    live = {(p.namespace, p.name): p.uid for p in pods if not p.finished}
    return {device: live[(h.namespace, h.pod)] for h in holdings
            if h.resource in wanted and (h.namespace, h.pod) in live
            for device in h.device_ids}


def devices_by_pod_from(holdings: Iterable[DeviceHolding], resource: str,
                        pods: Iterable[PodInfo]) -> dict[str, tuple[str, ...]]:
    """Pod uid -> the devices of *resource* it holds, for the pods in *pods* that still run."""
    live = {(p.namespace, p.name): p.uid for p in pods if not p.finished}
    held: dict[str, tuple[str, ...]] = {}
    for h in holdings:
        if h.resource == resource and (h.namespace, h.pod) in live:
            uid = live[(h.namespace, h.pod)]
            held[uid] = held.get(uid, ()) + h.device_ids
    return held
