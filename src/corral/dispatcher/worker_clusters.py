"""The worker clusters a dispatcher sends jobs to: one Secret each, holding a kubeconfig.

Secrets labelled ``dispatch.corral.dev/worker=true`` in the dispatcher's namespace name the
workers (the Secret's name is the cluster's name); their ``kubeconfig`` key is read once per
version of the Secret. Each pass reads a worker's nodes, pods and Jobs: a worker that does not
answer is *silent* for that pass, and its jobs keep their leases until they expire.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from corral.dispatcher.dispatch_lease import ORIGIN
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.quantity import parse_quantity
from corral.model import InvalidSpec

WORKER_LABEL = "dispatch.corral.dev/worker"
GPU = "nvidia.com/gpu"
MAX_KUBECONFIG_BYTES = 1 << 20
JOBS = ("batch", "v1", "jobs")


def gpu_count(amount: Any) -> int:
    """A GPU quantity as a whole count; one that does not parse counts as none."""
    try:
        return max(0, int(parse_quantity(str(amount))))
    except (InvalidSpec, ArithmeticError):
        return 0


def job_gpus(job: dict[str, Any]) -> int:
    """GPUs a Job asks for at once: its parallelism times each pod's GPU limits."""
    spec = job.get("spec") or {}
    pods = gpu_count(spec.get("parallelism") or 1)
    per_pod = 0
    for container in ((spec.get("template") or {}).get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        amount = (resources.get("limits") or {}).get(GPU) or (
            resources.get("requests") or {}).get(GPU) or 0
        per_pod += gpu_count(amount)
    return max(0, pods) * per_pod


@dataclass
class WorkerView:
    """One pass's reading of a worker: free GPUs after its pods and our unstarted copies, its
    largest node, and our copies by the manager Job's uid."""

    name: str
    free_gpus: int = 0
    largest_node: int = 0
    copies: dict[str, dict[str, Any]] = field(default_factory=dict)


class WorkerCluster:
    """A client for one worker, made from its Secret's kubeconfig."""

    def __init__(self, name: str, client: KubeClient, version: str) -> None:
        self.name = name
        self.client = client
        self.version = version

    @classmethod
    async def from_secret(cls, secret: dict[str, Any]) -> WorkerCluster:
        meta = secret.get("metadata") or {}
        name = str(meta.get("name") or "")
        encoded = str((secret.get("data") or {}).get("kubeconfig") or "")
        try:
            text = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(0, "BadSecret", f"worker {name}: kubeconfig is not base64") from None
        if not text or len(text) > MAX_KUBECONFIG_BYTES:
            raise ApiError(0, "BadSecret", f"worker {name}: kubeconfig empty or over 1 MiB")
        # The kubeconfig loader reads files only; the copy lives as long as the load.
        with tempfile.NamedTemporaryFile("wb", suffix=".kubeconfig") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            try:
                client = await KubeClient.connect(handle.name)
            except Exception as exc:  # the loader raises many types on a bad file
                raise ApiError(0, "BadSecret", f"worker {name}: {exc}") from None
        return cls(name, client, str(meta.get("resourceVersion") or ""))

    async def read(self) -> WorkerView:
        """Nodes, pods and Jobs of the worker (ApiError when it does not answer)."""
        view = WorkerView(self.name)
        nodes = await self.client.request("GET", resource_path("", "v1", "nodes"))
        pods = await self.client.request("GET", resource_path("", "v1", "pods"))
        jobs = await self.client.request("GET", resource_path(*JOBS))
        total = 0
        for node in nodes.get("items") or []:
            gpus = gpu_count(((node.get("status") or {}).get("allocatable") or {}).get(GPU, 0))
            total += gpus
            view.largest_node = max(view.largest_node, gpus)
        used = 0
        for pod in pods.get("items") or []:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            for container in (pod.get("spec") or {}).get("containers") or []:
                limits = (container.get("resources") or {}).get("limits") or {}
                used += gpu_count(limits.get(GPU, 0))
        for job in jobs.get("items") or []:
            uid = ((job.get("metadata") or {}).get("labels") or {}).get(ORIGIN)
            if uid:
                view.copies[str(uid)] = job
                status = job.get("status") or {}
                if not status.get("active") and not status.get("conditions"):
                    used += job_gpus(job)
        view.free_gpus = total - used
        return view

    async def close(self) -> None:
        await self.client.close()
