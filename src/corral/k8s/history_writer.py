"""Jobs the live scheduler sees end, written to the job-history store the trace import uses.

One row per job attempt, as :mod:`corral.history` keeps them: a lone pod is a job, a gang is
one job of as many tasks as members ran. A gang's row is written when its last bound member
ends; its outcome is the worst of its members' (failed, then preempted, then killed). The
attempt number is the job's first creation time in seconds, so the row of one run is the same
whoever writes it (a restarted scheduler, a second replica) and is stored once, while a job
recreated after a preemption gets a new attempt. Rows are written in batches from a worker
thread, so a slow database never holds up a cycle. Times are epoch seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corral.history import HistoryError, HistoryStore
from corral.k8s.cluster_cache import ClusterCache
from corral.k8s.pods import PodRecord

log = logging.getLogger(__name__)

SOURCE = "kubernetes"
FLUSH_EVERY_S = 2.0
_SEVERITY = {"completed": 0, "killed": 1, "preempted": 2, "failed": 3}


@dataclass
class _Open:
    pods: set[str] = field(default_factory=set)
    first: PodRecord | None = None
    submit: float = float("inf")
    start: float = float("inf")
    outcome: str = "completed"
    gpu_type: str = ""


class HistoryWriter:
    """Listens to the cache for pods of ours that end; buffers and writes their jobs' rows."""

    def __init__(self, store: HistoryStore, cache: ClusterCache, *, source: str = SOURCE,
                 clock: Callable[[], float]) -> None:
        self.store = store
        self.cache = cache
        self.source = source
        self.clock = clock
        self._open: dict[str, _Open] = {}
        self.buffer: list[dict[str, Any]] = []
        self.written = 0
        cache.on_pod_gone.append(self.pod_ended)

    def pod_ended(self, pod: PodRecord, outcome: str) -> None:
        """Called by the cache when a bound pod of ours finishes or is deleted."""
        if pod.gang is not None:
            key, unit = pod.gang.key, f"gang/{pod.gang.kind}/{pod.gang.key}#bound"
        else:
            key, unit = pod.key, ""
        job = self._open.setdefault(key, _Open())
        job.pods.add(pod.key)
        job.first = job.first or pod
        job.submit = min(job.submit, pod.created)
        job.start = min(job.start, self.cache.bound_at.get(pod.key, pod.created))
        if _SEVERITY[outcome] > _SEVERITY[job.outcome]:
            job.outcome = outcome
        info = self.cache.nodes.get(pod.node)
        job.gpu_type = job.gpu_type or (info.node.gpu_type if info is not None else "")
        if unit and self.cache.members(unit):
            return  # other members still run
        del self._open[key]
        end = self.clock()
        first = job.first
        submit = min(job.submit, job.start, end)
        self.buffer.append({
            "source": self.source, "job_id": first.job_name or key,
            "attempt": int(job.submit) if job.submit != float("inf") else 0,
            "user": first.user, "name": first.job_name or first.name, "queue": first.queue,
            "tasks": len(job.pods), "gpu_milli": first.request.gpu_milli,
            "gpu_type": job.gpu_type, "submit": submit, "start": min(job.start, end),
            "end": end, "outcome": job.outcome, "gpu_util": None, "gpu_mem_peak_mib": None,
        })

    def flush(self) -> int:
        """Write the buffered rows now (blocking); how many were new."""
        rows = self.buffer[:]
        if not rows:
            return 0
        added = self.store.add_attempts(rows)
        del self.buffer[:len(rows)]
        self.written += added
        return added

    async def run(self) -> None:
        """Flush every :data:`FLUSH_EVERY_S` in a worker thread until cancelled."""
        try:
            while True:
                await asyncio.sleep(FLUSH_EVERY_S)
                if self.buffer:
                    await self._flush_logged()
        finally:
            if self.buffer:
                await self._flush_logged()

    async def _flush_logged(self) -> None:
        """Flush; a failure is logged (the store's errors name the database with its password
        hidden) and the rows are kept for the next flush."""
        try:
            await asyncio.to_thread(self.flush)
        except HistoryError as exc:  # a database hiccup must not stop the scheduler
            log.warning("writing job history failed; %d rows kept for next time: %s",
                        len(self.buffer), exc)
        except Exception:
            log.exception("writing job history failed; rows kept for next time")
