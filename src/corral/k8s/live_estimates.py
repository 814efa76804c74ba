"""Predicted run times on a live cluster, learnt from its own job history.

Policies that read estimates (``predicted-sjf``, ``backfill-predicted``) get them live the way
the simulator gives them: from the same :class:`~corral.predict.online.OnlinePredictor`, here
trained on the attempts the history store holds (imported traces, and what this scheduler
wrote as jobs ended), read again every :data:`REFRESH_S` so that new rows count. A job is
predicted when the cache puts it on the snapshot. Interrupted attempts (``preempted``) are not
trained on: their length is not a job's duration. Rows are read by when they ended: a trace
imported while the scheduler runs, with ends before those already read, counts from its next
start.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from corral.core.duration_estimate import DurationEstimate
from corral.history import HistoryStore
from corral.model import MILLI, InvalidSpec, Job
from corral.predict.model import QuantileModel
from corral.predict.online import MAX_TRAIN_JOBS, OnlinePredictor

log = logging.getLogger(__name__)

REFRESH_S = 60.0
"""How often the store is read for attempts that ended since the last read."""

OVERLAP_S = 600.0
"""Each read goes back this far before the latest end already read: a writer may commit a row
after a later-ending one (the scheduler buffers its history writes)."""

TRAINED_OUTCOMES = frozenset({"completed", "failed", "killed"})


class HistoryEstimates:
    """An online predictor fed from a job-history store; :meth:`estimate` is what the cache
    calls for each job it puts on the snapshot.

    Reading the store, absorbing rows and fitting the model happen in a worker thread
    (:meth:`refresh`); the scheduling loop only predicts. A lock guards the predictor's history
    while rows are absorbed and while the loop predicts, never while a model is fitted.
    """

    def __init__(self, store: HistoryStore, *, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self.predictor = OnlinePredictor()
        self.learnt = 0
        """Attempts handed to the predictor so far."""
        self._seen: dict[tuple[str, str, int], float] = {}
        """Attempts already read within the overlap, with their ends."""
        self._latest: float | None = None
        self._now = -math.inf
        self._lock = threading.Lock()

    def estimate(self, job: Job, now: float) -> DurationEstimate:
        """*job*'s predicted run time (the model, else the fallback chain)."""
        with self._lock:
            predicted = self.predictor.predict(job, now, live=True)
        return DurationEstimate(predicted.p50, predicted.p90)

    def refresh(self) -> int:
        """Read the attempts that ended since the last read, absorb them and retrain when due
        (blocking: run it in a worker thread); how many attempts were new."""
        if self._latest is None:
            # The predictor trains on no more than the latest of these anyway.
            rows = self.store.attempts(latest=MAX_TRAIN_JOBS)
        else:
            rows = self.store.attempts(since=self._latest - OVERLAP_S)
        self._now = now = max(self._now, self.clock())  # the predictor's time never goes back
        with self._lock:
            added = self.learn(rows, now)
            training = self.predictor.absorb(now)
        if training is not None:
            model = QuantileModel.fit(*training)
            with self._lock:
                self.predictor.install(model, len(training[0]), now)
        return added

    def learn(self, rows: Iterable[Mapping[str, Any]], now: float) -> int:
        """Hand the finished attempts among *rows* (history-store rows) to the predictor once
        each; how many were new. A malformed row is logged and skipped. Ends later than *now*
        (a clock that was wrong) do not move the read position past *now*."""
        added = 0
        for row in rows:
            key = (row["source"], row["job_id"], row["attempt"])
            if key in self._seen:
                continue
            end = float(row["end"])
            self._seen[key] = end
            self._latest = max(self._latest or -math.inf, min(end, now))
            if row["outcome"] not in TRAINED_OUTCOMES:
                continue
            try:
                self.predictor.finish(job_of_attempt(row), end)
            except (InvalidSpec, KeyError, ValueError, TypeError) as exc:
                log.warning("history row %s/%s not learnt from: %s", key[0], key[1], exc)
                continue
            added += 1
        self.learnt += added
        if self._latest is not None:
            horizon = self._latest - OVERLAP_S
            self._seen = {k: end for k, end in self._seen.items() if end >= horizon}
        return added

    async def run(self) -> None:
        """Read what is new every :data:`REFRESH_S`, in a worker thread, until cancelled; a
        database error is logged and tried again at the next refresh. The loop makes the
        first read itself, before its first cycle."""
        while True:
            await asyncio.sleep(REFRESH_S)
            await self.refresh_soon()

    async def refresh_soon(self) -> None:
        """:meth:`refresh` in a worker thread, logging instead of raising."""
        try:
            added = await asyncio.to_thread(self.refresh)
        except Exception:  # a database hiccup must not stop the scheduler
            log.exception("reading job history for predictions failed")
            return
        if added:
            log.info("duration predictor: %d new finished attempts (%d in all)", added,
                     self.learnt)


def job_of_attempt(row: Mapping[str, Any]) -> Job:
    """A finished history attempt as a :class:`Job` with its measured duration."""
    start, end = float(row["start"]), float(row["end"])
    gpu_milli = int(row["gpu_milli"])
    return Job(id=f"{row['source']}/{row['job_id']}/{row['attempt']}",
               submit=max(0.0, float(row["submit"])), tasks=int(row["tasks"]),
               gpu_milli=gpu_milli if gpu_milli < MILLI else gpu_milli // MILLI * MILLI,
               queue=row["queue"], user=row["user"], name=row["name"],
               gpu_types=(row["gpu_type"],) if row["gpu_type"] else (),
               duration=max(0.0, end - start), outcome=row["outcome"])
