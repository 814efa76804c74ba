"""The ``PodScheduled=False`` condition on pods the scheduler leaves waiting, as kube-scheduler
writes it: the cluster autoscaler scales up for pods whose reason is ``Unschedulable``, and
``kubectl describe pod`` and ``kubectl get pods`` tooling read the message.

Conditions go through the ``pods/status`` subresource as a strategic merge patch, which
merges ``conditions`` by ``type`` and so keeps every other condition. Only changes are
written: a pod whose condition already carries the message (read from the watch, so this holds
across restarts and leader changes) is skipped; requests are coalesced per pod, the newest
message winning, and written by one background task at most :data:`WRITES_PER_S` a second, so
thousands of pods waiting for the same reason never flood the API server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from corral.k8s import conventions as names
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.pods import PodRecord

log = logging.getLogger(__name__)

WRITES_PER_S = 50.0
MAX_MESSAGE = 1024


class PodConditionWriter:
    """Writes ``PodScheduled=False`` with a reason and message on pods that still wait."""

    def __init__(self, client: KubeClient, waiting: Callable[[str], PodRecord | None], *,
                 is_leader: Callable[[], bool], writes_per_s: float = WRITES_PER_S) -> None:
        """*waiting* gives the current record of a pod that still waits (None once it is
        bound, being bound or gone), checked just before each write."""
        self.client = client
        self.waiting = waiting
        self.is_leader = is_leader
        self.interval = 1.0 / writes_per_s
        self._wanted: dict[str, tuple[str, str]] = {}
        self._wake = asyncio.Event()
        self.written = 0

    def request(self, pod_key: str, reason: str, message: str) -> None:
        """Ask for the condition on *pod_key* (replacing a request not yet written)."""
        self._wanted[pod_key] = (reason, message[:MAX_MESSAGE])
        self._wake.set()

    async def run(self) -> None:
        """Write requested conditions until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._wanted:
                key = next(iter(self._wanted))
                reason, message = self._wanted.pop(key)
                pod = self.waiting(key)
                if pod is None or pod.unschedulable_message == message or not self.is_leader():
                    continue
                await self._write(pod, reason, message)
                await asyncio.sleep(self.interval)

    async def _write(self, pod: PodRecord, reason: str, message: str) -> None:
        condition = {"type": names.POD_SCHEDULED, "status": "False", "reason": reason,
                     "message": message}
        if not pod.unschedulable_message:  # it turns False now; otherwise it keeps its time
            condition["lastTransitionTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = resource_path("", "v1", "pods", pod.namespace, pod.name, "status")
        try:
            await self.client.merge_patch(path, {"status": {"conditions": [condition]}},
                                          strategic=True)
        except ApiError as exc:  # gone, or refused: a later change of reason tries again
            log.debug("PodScheduled condition of %s not written: %s", pod.key, exc)
            return
        self.written += 1
