"""Jobs the live scheduler sees end, written to the job-history store the trace import uses.

One row per job attempt, as :mod:`corral.history` keeps them: a lone pod is a job, a gang is
one job of as many tasks as members ran. A gang's row is written when its last bound member
ends; its outcome is the worst of its members' (failed, then preempted, then killed). The
attempt number is the job's first creation time in seconds, so the row of one run is the same
whoever writes it (a restarted scheduler, a second replica) and is stored once, while a job
recreated after a preemption gets a new attempt. Rows are written in batches from a worker
thread, so a slow database never holds up a cycle. Times are epoch seconds.

No row can stop the writing: a batch the database refuses for its values is written again row
by row, and only the rows refused on their own (or that the store rejects, say a key over its
column's length) are dropped, counted and logged. While the database is unreachable, rows wait
in a buffer of at most :data:`MAX_BUFFERED_ROWS`; when it is full the oldest are dropped,
counted (``corral_history_rows_dropped_total{cause="buffer_full"}``) and logged once per
burst, and the rest are written when the database answers again.

The store may be given as a function that opens it: it is then opened by the writer's thread
when the first rows are due, or :data:`OPEN_AFTER_S` after the start at the latest, so opening
the database (SQLAlchemy, its migrations: seconds) never delays the scheduler's first binding.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from corral.k8s.cluster_cache import ClusterCache
from corral.k8s.pods import PodRecord
from corral.k8s.unit_ids import UnitId
from corral.model import CorralError

if TYPE_CHECKING:
    from prometheus_client import Counter

    from corral.history import HistoryStore

log = logging.getLogger(__name__)

SOURCE = "kubernetes"
FLUSH_EVERY_S = 2.0
OPEN_AFTER_S = 30.0
"""A store given as a function is opened by then even if no row is due (a wrong database
shows in the log soon after the start)."""
MAX_BUFFERED_ROWS = 100_000
"""Rows kept while the database cannot take them (some tens of MB); beyond it the oldest go."""
CHUNK_ROWS = 500
"""Rows per transaction; a chunk the database refuses is retried row by row."""
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

    def __init__(self, store: HistoryStore | Callable[[], HistoryStore], cache: ClusterCache,
                 *, source: str = SOURCE, clock: Callable[[], float],
                 max_rows: int = MAX_BUFFERED_ROWS, drops: Counter | None = None) -> None:
        self._opener = store if callable(store) else None
        self._store = None if callable(store) else store
        self._opening = threading.Lock()
        self.cache = cache
        self.source = source
        self.clock = clock
        self.max_rows = max_rows
        self.drops = drops
        """``corral_history_rows_dropped_total`` by cause (buffer_full, rejected), if given."""
        self._open: dict[str, _Open] = {}
        self.buffer: deque[dict[str, Any]] = deque()
        """Rows not written yet, oldest first (a flush takes its chunk out while it writes)."""
        self._lock = threading.Lock()  # the buffer is filled by the loop, emptied by a thread
        self.written = 0
        self.dropped = {"buffer_full": 0, "rejected": 0}
        self._burst = 0
        """Rows dropped for a full buffer since the buffer last had room (logged once)."""
        cache.on_pod_gone.append(self.pod_ended)

    def pod_ended(self, pod: PodRecord, outcome: str) -> None:
        """Called by the cache when a bound pod of ours finishes or is deleted."""
        if pod.gang is not None:
            key, unit = pod.gang.key, str(UnitId.gang(pod.gang).bound)
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
        self.add({
            "source": self.source, "job_id": first.job_name or key,
            "attempt": int(job.submit) if job.submit != float("inf") else 0,
            "user": first.user, "name": first.job_name or first.name, "queue": first.queue,
            "tasks": len(job.pods), "gpu_milli": first.request.gpu_milli,
            "gpu_type": job.gpu_type, "submit": submit, "start": min(job.start, end),
            "end": end, "outcome": job.outcome, "gpu_util": None, "gpu_mem_peak_mib": None,
        })

    def add(self, row: dict[str, Any]) -> None:
        """Buffer one row for the next flush; a full buffer drops its oldest."""
        with self._lock:
            self.buffer.append(row)
            self._bound()

    def _bound(self) -> None:
        """Drop the oldest rows beyond :attr:`max_rows` (with the lock held)."""
        over = len(self.buffer) - self.max_rows
        if over <= 0:
            return
        for _ in range(over):
            self.buffer.popleft()
        if self._burst == 0:
            log.warning("job-history buffer full (%d rows, the database is not taking them): "
                        "dropping the oldest rows until it does", self.max_rows)
        self._burst += over
        self._count("buffer_full", over)

    @property
    def opened(self) -> bool:
        return self._store is not None

    @property
    def store(self) -> HistoryStore:
        """The store, opened on first use (blocking: the writer's thread calls it)."""
        with self._opening:
            if self._store is None:
                assert self._opener is not None
                self._store = self._opener()
            return self._store

    def close(self) -> None:
        """Close the store if this writer opened it."""
        if self._opener is not None and self._store is not None:
            self._store.close()

    def _count(self, cause: str, rows: int) -> None:
        self.dropped[cause] += rows
        if self.drops is not None:
            self.drops.labels(cause).inc(rows)

    def flush(self) -> int:
        """Write the buffered rows now (blocking), a chunk per transaction; how many were new.

        A chunk the database refuses for its values is written row by row, and the rows it
        refuses on their own are dropped. Any other failure (the database unreachable or
        locked) puts the chunk back at the front of the buffer and raises HistoryError.
        """
        self.store  # noqa: B018 -- opened (or its error raised) even with nothing to write
        added = 0
        while True:
            with self._lock:
                chunk = list(islice(self.buffer, CHUNK_ROWS))
                for _ in chunk:
                    self.buffer.popleft()
            if not chunk:
                break
            try:
                added += self._write(chunk)
            except BaseException:
                with self._lock:
                    self.buffer.extendleft(reversed(chunk))
                    self._bound()
                raise
        self.written += added
        with self._lock:
            if self._burst and len(self.buffer) < self.max_rows:
                log.warning("job-history buffer has room again: %d rows were dropped",
                            self._burst)
                self._burst = 0
        return added

    def _write(self, chunk: list[dict[str, Any]]) -> int:
        """Write one chunk whole or, if the database refuses some value in it, row by row.
        On a failure that is not about a row's values, the rows written so far are taken out
        of *chunk* (so a retry does not count them twice) before it raises."""
        from corral.history import HistoryError  # loaded with the store by now

        rejected: list[tuple[Mapping[str, Any], str]] = []
        try:
            added = self.store.add_attempts(chunk, len(chunk),
                                            on_reject=lambda row, why: rejected.append((row, why)))
        except HistoryError as exc:
            if not exc.refused_data:
                raise
        else:
            for row, why in rejected:
                self._rejected(row, why)
            return added
        added = 0
        while chunk:
            try:
                added += self.store.add_attempts(chunk[:1], on_reject=self._rejected)
            except HistoryError as exc:
                if not exc.refused_data:
                    raise
                self._rejected(chunk[0], str(exc))
            del chunk[0]
        return added

    def _rejected(self, row: Mapping[str, Any], reason: str) -> None:
        log.warning("job-history row of job %.80r dropped: %s", row.get("job_id"), reason)
        self._count("rejected", 1)

    async def run(self) -> None:
        """Flush every :data:`FLUSH_EVERY_S` in a worker thread until cancelled."""
        waited = 0.0
        try:
            while True:
                await asyncio.sleep(FLUSH_EVERY_S)
                waited += FLUSH_EVERY_S
                if self.buffer or (not self.opened and waited >= OPEN_AFTER_S):
                    await self._flush_logged()
        finally:
            if self.buffer:
                await self._flush_logged()

    async def _flush_logged(self) -> None:
        """Flush; a failure is logged (the store's errors name the database with its password
        hidden) and the rows are kept for the next flush."""
        try:
            await asyncio.to_thread(self.flush)
        except CorralError as exc:  # a database hiccup must not stop the scheduler
            if not self.opened:
                log.error("opening the job-history database failed; %d rows kept, tried "
                          "again in %gs: %s", len(self.buffer), FLUSH_EVERY_S, exc)
                return
            log.warning("writing job history failed; %d rows kept for next time: %s",
                        len(self.buffer), exc)
        except Exception:
            log.exception("writing job history failed; rows kept for next time")
