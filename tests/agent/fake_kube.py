"""An in-memory Kubernetes API for the agent tests: pods, annotations, Events, and the trial
controller's TrialRuns, pod creation, logs and deletion."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from corral import kube_contract as contract
from corral.agent.kube import ContainerInfo, KubeError, PodInfo, TrialRunInfo, pod_from_json


class FakeKubeApi:
    def __init__(self, pods: list[PodInfo] | None = None) -> None:
        self.pods = {p.uid: p for p in pods or ()}
        self.events: list[tuple[str, str, str]] = []
        self.node_annotations: dict[str, str] = {}
        self.trials: dict[tuple[str, str], TrialRunInfo] = {}
        self.manifests: dict[str, dict[str, Any]] = {}
        """Pod name -> the manifest it was created from."""
        self.logs: dict[str, str] = {}
        """Pod name -> what its log holds (tests write it, as a container would)."""
        self.deleted: list[str] = []
        self.now = 0.0
        """The creation time given to new pods."""
        self.taints: list[dict[str, str]] = []
        """The node's taints (one node: the tests' agents run on one)."""
        self.node_version = 1
        self.taint_writes = 0
        self.refuse_taints = False
        self._uids = itertools.count(1)

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

    def node_taints(self, node: str) -> tuple[list[dict[str, str]], str]:
        return [dict(t) for t in self.taints], str(self.node_version)

    def set_node_taints(self, node: str, taints: Sequence[Mapping[str, str]],
                        resource_version: str) -> None:
        """As the API server applies a patch carrying ``resourceVersion``: 409 unless the node
        is still at that version; :attr:`refuse_taints` plays a denying admission policy."""
        if self.refuse_taints:
            raise KubeError(f"PATCH nodes/{node}: HTTP 403 Forbidden", 403)
        if resource_version != str(self.node_version):
            raise KubeError(f"PATCH nodes/{node}: HTTP 409 Conflict", 409)
        self.taints = [dict(t) for t in taints]
        self.node_version += 1
        self.taint_writes += 1

    def taint_node(self, taint: Mapping[str, str]) -> None:
        """Another writer (a person, a controller) adds a taint."""
        self.taints.append(dict(taint))
        self.node_version += 1

    # -- the trial controller's calls ---------------------------------------------------------
    def add_trial(self, trial: TrialRunInfo) -> None:
        self.trials[(trial.namespace, trial.name)] = trial

    def trial(self, namespace: str, name: str) -> TrialRunInfo:
        return self.trials[(namespace, name)]

    def trial_runs(self, node: str) -> list[TrialRunInfo]:
        return [t for t in self.trials.values() if t.spec.get("nodeName") == node]

    def patch_trial_status(self, trial: TrialRunInfo, status: Mapping[str, Any]) -> None:
        key = (trial.namespace, trial.name)
        self.trials[key] = dataclasses.replace(self.trials[key],
                                               status={**self.trials[key].status, **status})

    def create_pod(self, namespace: str, manifest: Mapping[str, Any]) -> PodInfo:
        name = manifest["metadata"]["name"]
        if self.get_pod(namespace, name) is not None:
            raise AssertionError(f"pod {name} created twice")
        self.manifests[name] = dict(manifest)
        pod = pod_from_json({**manifest, "metadata": {
            **manifest["metadata"], "uid": f"uid-{next(self._uids)}"}})
        return self.add(dataclasses.replace(pod, phase="Pending", created=self.now))

    def get_pod(self, namespace: str, name: str) -> PodInfo | None:
        return next((p for p in self.pods.values()
                     if p.namespace == namespace and p.name == name), None)

    def start_pod(self, name: str, at: float) -> None:
        pod = self.get_pod_named(name)
        self.pods[pod.uid] = dataclasses.replace(pod, phase="Running", started=at)

    def get_pod_named(self, name: str) -> PodInfo:
        return next(p for p in self.pods.values() if p.name == name)

    def pod_logs(self, pod: PodInfo, tail_lines: int) -> str:
        return "\n".join(self.logs.get(pod.name, "").splitlines()[-tail_lines:])

    def delete_pod(self, pod: PodInfo) -> None:
        self.deleted.append(pod.name)
        self.pods.pop(pod.uid, None)


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
