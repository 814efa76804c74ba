"""The cluster now, from the API server: Corral's pods (pending with why, running where) and
the nodes' GPUs. Why a pod waits is the scheduler's own word where its ``/status`` is given
(``--scheduler-url``), else its ``PodScheduled=False`` condition; each GPU's utilisation and
health are the node agents' (``--agent-metrics-url``) where given."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from corral.dashboard.agent_gpus import AgentGpus, NodeGpus
from corral.dashboard.api_models import JobRow, NodeRow
from corral.dashboard.cluster_view import fill_gpus
from corral.k8s import conventions as names
from corral.k8s.client import KubeClient, resource_path
from corral.k8s.nodes import node_from_api
from corral.k8s.pods import pod_from_api
from corral.model import MILLI, InvalidSpec

STATUS_TIMEOUT_S = 5.0


class LiveCluster:
    def __init__(self, client: KubeClient, scheduler_url: str | None = None,
                 scheduler_name: str = names.SCHEDULER_NAME,
                 agents: AgentGpus | None = None) -> None:
        self.client = client
        self.scheduler_url = scheduler_url
        self.scheduler_name = scheduler_name
        self.agents = agents

    async def _pods(self) -> list[Any]:
        items = (await self.client.request("GET", resource_path("", "v1", "pods")))["items"]
        pods = []
        for obj in items:
            try:
                pod = pod_from_api(obj)
            except InvalidSpec:
                continue
            if pod.scheduler == self.scheduler_name and not pod.finished:
                pods.append(pod)
        return pods

    def _waiting(self) -> dict[str, str]:
        """The scheduler's reasons by pod key (``pod/<ns>/<name>`` units), if it is asked."""
        if not self.scheduler_url:
            return {}
        try:
            with urllib.request.urlopen(self.scheduler_url.rstrip("/") + "/status",
                                        timeout=STATUS_TIMEOUT_S) as answer:
                status = json.load(answer)
        except (OSError, ValueError):
            return {}
        return {unit.removeprefix("pod/"): str(message)
                for unit, message in (status.get("waiting") or {}).items()}

    async def jobs(self) -> list[JobRow]:
        waiting = await asyncio.to_thread(self._waiting)
        rows = []
        for pod in await self._pods():
            held = pod.request if pod.booked is None else pod.booked[0]
            rows.append(JobRow(
                id=pod.key, project=pod.queue, user=pod.user or pod.namespace,
                name=pod.job_name or pod.name, state="running" if pod.node else "pending",
                gpus=held.gpu_milli / MILLI, submit=pod.created,
                reason="" if pod.node else waiting.get(pod.key, pod.unschedulable_message),
                nodes=[pod.node] if pod.node else []))
        return rows

    async def nodes(self) -> list[NodeRow]:
        items = (await self.client.request("GET", resource_path("", "v1", "nodes")))["items"]
        held: dict[str, list[float]] = {}
        for pod in await self._pods():
            if pod.node:
                request = pod.request if pod.booked is None else pod.booked[0]
                held.setdefault(pod.node, []).append(request.gpu_milli / MILLI)
        measured = {} if self.agents is None else await self.agents.read()
        rows = []
        for obj in items:
            try:
                info = node_from_api(obj)
            except InvalidSpec:
                continue
            node = info.node
            gpus = measured.get(node.name, NodeGpus())
            rows.append(fill_gpus(node.name, node.gpu_type, node.gpus,
                                  held.get(node.name, ()), info.schedulable,
                                  gpus.unhealthy, gpus.utilisation))
        return rows
