"""The agent's narrow view of the Kubernetes API: the pods on its node, annotations, Events,
and its own node's taints.

:class:`InClusterKubeApi` speaks plain HTTPS with the pod's service-account token, so the agent
needs no Kubernetes client library; the RBAC in deploy/agent/ allows exactly these calls.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from corral import kube_contract as contract
from corral.model import CorralError

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TIMEOUT_S = 10.0
FINISHED_PHASES = ("Succeeded", "Failed")


class KubeError(CorralError):
    """The API server refused or could not be reached; the message says which call."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status where the server answered (404: no such object)."""


TRIAL_API = f"/apis/{contract.GROUP}/v1alpha1"
"""Where the TrialRun resource lives (deploy/agent/trialrun-crd.yaml)."""


@dataclass(frozen=True)
class ContainerInfo:
    """A container of a pod: its name, runtime id (without the ``containerd://`` scheme) once
    started, and the extended resources it asks for."""

    name: str
    container_id: str = ""
    limits: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PodInfo:
    """What the agent reads of a pod."""

    uid: str
    namespace: str
    name: str
    node_name: str
    phase: str
    created: float
    started: float | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    containers: tuple[ContainerInfo, ...] = ()

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED_PHASES

    def asks_for(self, resource: str) -> bool:
        return any(resource in c.limits for c in self.containers)

    @property
    def queue(self) -> str:
        """Its queue, by the scheduler's rule (:func:`corral.kube_contract.queue_of`)."""
        return contract.queue_of(self.labels)

    @property
    def job(self) -> str:
        """Its job, by the scheduler's rule: the job label, else the pod itself."""
        return contract.job_of(self.labels) or self.name


class KubeApi(Protocol):
    """The calls the agent makes."""

    def pods_on_node(self, node: str) -> list[PodInfo]: ...

    def annotate_pod(self, pod: PodInfo, annotations: Mapping[str, str | None]) -> None:
        """Merge-patch annotations; ``None`` removes one."""
        ...

    def annotate_node(self, node: str, annotations: Mapping[str, str | None]) -> None: ...

    def pod_event(self, pod: PodInfo, reason: str, message: str, warning: bool = True) -> None: ...

    def node_taints(self, node: str) -> tuple[list[dict[str, str]], str]:
        """The node's taints (``key``, ``value``, ``effect``) and its ``resourceVersion``."""
        ...

    def set_node_taints(self, node: str, taints: Sequence[Mapping[str, str]],
                        resource_version: str) -> None:
        """Replace the node's taints, provided it is still at *resource_version*
        (:class:`KubeError` with status 409 if another writer came first)."""
        ...


@dataclass(frozen=True)
class TrialRunInfo:
    """A TrialRun object as the agent's trial controller reads it (spec and status as JSON)."""

    namespace: str
    name: str
    uid: str
    created: float
    spec: Mapping[str, Any] = field(default_factory=dict)
    status: Mapping[str, Any] = field(default_factory=dict)


class TrialKubeApi(KubeApi, Protocol):
    """The calls the trial controller makes beyond :class:`KubeApi`: TrialRuns on this node,
    their status, and the trial pods it creates, reads the logs of, and deletes."""

    def trial_runs(self, node: str) -> list[TrialRunInfo]: ...

    def patch_trial_status(self, trial: TrialRunInfo, status: Mapping[str, Any]) -> None: ...

    def create_pod(self, namespace: str, manifest: Mapping[str, Any]) -> PodInfo: ...

    def get_pod(self, namespace: str, name: str) -> PodInfo | None:
        """The pod, or None if there is none of that name."""
        ...

    def pod_logs(self, pod: PodInfo, tail_lines: int) -> str: ...

    def delete_pod(self, pod: PodInfo) -> None: ...


def trial_run_from_json(item: Mapping[str, Any]) -> TrialRunInfo:
    meta = item["metadata"]
    return TrialRunInfo(namespace=meta["namespace"], name=meta["name"], uid=meta.get("uid", ""),
                        created=_epoch(meta.get("creationTimestamp")) or 0.0,
                        spec=dict(item.get("spec") or {}), status=dict(item.get("status") or {}))


def pod_from_json(item: Mapping[str, Any]) -> PodInfo:
    """A :class:`PodInfo` from the API's pod JSON."""
    meta, spec, status = item["metadata"], item.get("spec", {}), item.get("status", {})
    ids = {s["name"]: s.get("containerID", "").partition("://")[2]
           for s in status.get("containerStatuses", ())}
    containers = tuple(
        ContainerInfo(name=c["name"], container_id=ids.get(c["name"], ""),
                      limits=dict(c.get("resources", {}).get("limits", {})))
        for c in spec.get("containers", ()))
    return PodInfo(uid=meta["uid"], namespace=meta["namespace"], name=meta["name"],
                   node_name=spec.get("nodeName", ""), phase=status.get("phase", "Pending"),
                   created=_epoch(meta.get("creationTimestamp")) or 0.0,
                   started=_epoch(status.get("startTime")),
                   annotations=dict(meta.get("annotations") or {}),
                   labels=dict(meta.get("labels") or {}), containers=containers)


class InClusterKubeApi:
    """:class:`KubeApi` from inside a pod: the service-account token and the cluster CA."""

    def __init__(self, component: str = "corral-node-agent") -> None:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), \
            os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host or not (SERVICE_ACCOUNT / "token").exists():
            raise KubeError("not running in a Kubernetes pod (no service host or account token)")
        self._base = f"https://{host}:{port}"
        self._context = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT / "ca.crt"))
        self._component = component

    def pods_on_node(self, node: str) -> list[PodInfo]:
        selector = urllib.parse.quote(f"spec.nodeName={node}")
        body = self._call("GET", f"/api/v1/pods?fieldSelector={selector}")
        return [pod_from_json(item) for item in body["items"]]

    def annotate_pod(self, pod: PodInfo, annotations: Mapping[str, str | None]) -> None:
        self._call("PATCH", f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}",
                   {"metadata": {"annotations": dict(annotations)}})

    def annotate_node(self, node: str, annotations: Mapping[str, str | None]) -> None:
        self._call("PATCH", f"/api/v1/nodes/{node}",
                   {"metadata": {"annotations": dict(annotations)}})

    def pod_event(self, pod: PodInfo, reason: str, message: str, warning: bool = True) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._call("POST", f"/api/v1/namespaces/{pod.namespace}/events", {
            "metadata": {"generateName": f"{pod.name}."},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": pod.namespace,
                               "name": pod.name, "uid": pod.uid},
            "reason": reason, "message": message, "type": "Warning" if warning else "Normal",
            "source": {"component": self._component, "host": pod.node_name},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        })

    def node_taints(self, node: str) -> tuple[list[dict[str, str]], str]:
        body = self._call("GET", f"/api/v1/nodes/{node}")
        return ([dict(taint) for taint in body.get("spec", {}).get("taints") or ()],
                body["metadata"]["resourceVersion"])

    def set_node_taints(self, node: str, taints: Sequence[Mapping[str, str]],
                        resource_version: str) -> None:
        # A merge patch carrying resourceVersion is applied only at that version (409 else):
        # taints are one list, replaced whole, so a concurrent writer must not be overwritten.
        self._call("PATCH", f"/api/v1/nodes/{node}",
                   {"metadata": {"resourceVersion": resource_version},
                    "spec": {"taints": [dict(t) for t in taints]}})

    # -- the trial controller's calls --------------------------------------------------------
    def trial_runs(self, node: str) -> list[TrialRunInfo]:
        body = self._call("GET", f"{TRIAL_API}/trialruns")
        return [t for t in map(trial_run_from_json, body["items"])
                if t.spec.get("nodeName") == node]

    def patch_trial_status(self, trial: TrialRunInfo, status: Mapping[str, Any]) -> None:
        self._call("PATCH", f"{TRIAL_API}/namespaces/{trial.namespace}/trialruns/{trial.name}"
                            "/status", {"status": dict(status)})

    def create_pod(self, namespace: str, manifest: Mapping[str, Any]) -> PodInfo:
        return pod_from_json(self._call("POST", f"/api/v1/namespaces/{namespace}/pods",
                                        manifest))

    def get_pod(self, namespace: str, name: str) -> PodInfo | None:
        try:
            return pod_from_json(self._call("GET", f"/api/v1/namespaces/{namespace}/pods/{name}"))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def pod_logs(self, pod: PodInfo, tail_lines: int) -> str:
        return self._call("GET", f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/log"
                                 f"?tailLines={tail_lines}", text=True)

    def delete_pod(self, pod: PodInfo) -> None:
        try:
            self._call("DELETE", f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}")
        except KubeError as exc:
            if exc.status != 404:
                raise

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
              text: bool = False) -> Any:
        token = (SERVICE_ACCOUNT / "token").read_text().strip()  # re-read: tokens rotate
        request = urllib.request.Request(
            self._base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}",
                     "Accept": "text/plain" if text else "application/json",
                     "Content-Type": "application/merge-patch+json" if method == "PATCH"
                     else "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=self._context) as r:
                return r.read().decode("utf-8", "replace") if text else json.load(r)
        except urllib.error.HTTPError as exc:
            raise KubeError(f"{method} {path}: HTTP {exc.code} {exc.reason}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise KubeError(f"{method} {path}: {exc}") from None


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
