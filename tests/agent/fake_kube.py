"""An in-memory Kubernetes API for the agent tests: pods, annotations, Events."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from corral.agent import contract
from corral.agent.kube import ContainerInfo, PodInfo


class FakeKubeApi:
    def __init__(self, pods: list[PodInfo] | None = None) -> None:
        self.pods = {p.uid: p for p in pods or ()}
        self.events: list[tuple[str, str, str]] = []
        self.node_annotations: dict[str, str] = {}

    def add(self, pod: PodInfo) -> PodInfo:
        self.pods[pod.uid] = pod
        return pod

    def set_phase(self, uid: str, phase: str) -> None:
        self.pods[uid] = dataclasses.replace(self.pods[uid], phase=phase)

    def pods_on_node(self, node: str) -> list[PodInfo]:
        return [p for p in self.pods.values() if p.node_name == node]

    def annotate_pod(self, pod: PodInfo, annotations: Mapping[str, str | None]) -> None:
        current = self.pods[pod.uid]
        merged = {**current.annotations, **annotations}
        self.pods[pod.uid] = dataclasses.replace(
            current, annotations={k: v for k, v in merged.items() if v is not None})

    def annotate_node(self, node: str, annotations: Mapping[str, str | None]) -> None:
        self.node_annotations.update(annotations)
        self.node_annotations = {k: v for k, v in self.node_annotations.items() if v is not None}

    def pod_event(self, pod: PodInfo, reason: str, message: str, warning: bool = True) -> None:
        self.events.append((pod.name, reason, message))


def share_pod(name: str, gpu_index: int | str, milli: int | str,
              memory_mib: int | str | None = None, *, node: str = "node-a", created: float = 0.0,
              extra: Mapping[str, str] | None = None, uid: str = "",
              container_id: str = "") -> PodInfo:
    """A fractional pod as Corral's scheduler leaves it before the kubelet admits it."""
    placed = {contract.GPU_INDEX: str(gpu_index), contract.GPU_MILLI: str(milli),
              contract.ASSIGNED_NODE: node}
    if memory_mib is not None:
        placed[contract.GPU_MEMORY_MIB] = str(memory_mib)
    return PodInfo(uid=uid or f"uid-{name}", namespace="team-a", name=name, node_name=node,
                   phase="Pending", created=created,
                   annotations={**placed, **(extra or {})},
                   labels={contract.QUEUE_LABELS[0]: "research", "job-name": f"job-{name}"},
                   containers=(ContainerInfo("main", container_id,
                                             limits={contract.SHARE_RESOURCE: "1"}),))
