"""Submit-time features, computed only from jobs that finished before "now".

:class:`History` is the one gate to the past: jobs are handed to it with their end times in any
order, and only those that ended strictly before the latest :meth:`History.advance` are ever
read, so neither features nor the fallback can see a job that has not finished yet.
"""

from __future__ import annotations

import heapq
import math
import re
import statistics
from collections import defaultdict, deque
from collections.abc import Hashable

from corral.model import InvalidSpec, Job
from corral.model.resources import MILLI

RECENT = 20
"""How many of the most recent finished jobs each median looks at: recent habits predict best."""

MIN_SECONDS = 1.0
"""Durations are floored at one second before taking logs (traces hold 0-second jobs)."""

DAY = 86_400.0
WEEK = 7 * DAY

FEATURE_NAMES = (
    "log_gpus", "tasks", "gpus_per_task", "hour_of_day", "day_of_week",
    "user_median", "user_count", "user_last", "user_gpus_median", "user_gpus_last",
    "user_name_median",
    "name_median", "queue_median", "cluster_median",
)
"""Column order of :meth:`History.features`; log-duration medians are NaN when unknown."""

_SPLIT = re.compile(r"[^a-z#]+")


def name_tokens(name: str) -> tuple[str, ...]:
    """A job name's tokens: lowercase, every digit turned into ``#``, split on the rest.

    ``"ResNet50-lr0.1_run3"`` gives ``("resnet##", "lr#", "#", "run#")``, so reruns with new
    numbers share their tokens.
    """
    normalised = re.sub(r"[0-9]", "#", name.lower())
    return tuple(token for token in _SPLIT.split(normalised) if token)


def log_duration(seconds: float) -> float:
    """The natural log of a duration floored at :data:`MIN_SECONDS`."""
    return math.log(max(seconds, MIN_SECONDS))


def gpu_count(job: Job) -> float:
    """The job's total GPUs (fractions kept), the size users think in."""
    return job.total_gpu_milli / MILLI


class RecentDurations:
    """The last :data:`RECENT` log-durations seen under each key."""

    def __init__(self) -> None:
        self._by_key: defaultdict[Hashable, deque[float]] = defaultdict(
            lambda: deque(maxlen=RECENT))

    def add(self, key: Hashable, log_seconds: float) -> None:
        self._by_key[key].append(log_seconds)

    def median(self, key: Hashable) -> float:
        """Median log-duration under ``key``; NaN when nothing finished under it yet."""
        values = self._by_key.get(key)
        return statistics.median(values) if values else math.nan

    def count(self, key: Hashable) -> int:
        values = self._by_key.get(key)
        return len(values) if values else 0

    def last(self, key: Hashable) -> float:
        values = self._by_key.get(key)
        return values[-1] if values else math.nan


class History:
    """Finished jobs, visible only once their end lies before the current time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._pending: list[tuple[float, int, Job]] = []
        self._seq = 0
        self.user = RecentDurations()
        self.user_gpus = RecentDurations()
        self.user_name = RecentDurations()
        self.name = RecentDurations()
        self.queue = RecentDurations()
        self.cluster = RecentDurations()

    def finish(self, job: Job, end: float) -> None:
        """Record that ``job`` (with its true duration) ends at ``end``; seen once it is past."""
        if job.duration is None:
            raise InvalidSpec(f"job {job.id}: a finished job needs its duration")
        if not math.isfinite(end):
            raise InvalidSpec(f"job {job.id}: end time must be finite, got {end!r}")
        heapq.heappush(self._pending, (end, self._seq, job))
        self._seq += 1

    def advance(self, now: float) -> list[Job]:
        """Move to ``now``; returns the jobs that ended before it, in end order, now visible."""
        if now < self.now:
            raise InvalidSpec(f"time cannot go back: {now} is before {self.now}")
        self.now = now
        absorbed = []
        while self._pending and self._pending[0][0] < now:
            job = heapq.heappop(self._pending)[2]
            self._remember(job)
            absorbed.append(job)
        return absorbed

    def _remember(self, job: Job) -> None:
        assert job.duration is not None
        value = log_duration(job.duration)
        name = name_tokens(job.name)
        self.user.add(job.user, value)
        self.user_gpus.add((job.user, gpu_count(job)), value)
        if name:
            self.user_name.add((job.user, name), value)
            self.name.add(name, value)
        self.queue.add(job.queue, value)
        self.cluster.add(None, value)

    def features(self, job: Job) -> list[float]:
        """The :data:`FEATURE_NAMES` of ``job`` as known now (its duration is never read)."""
        gpus = gpu_count(job)
        name = name_tokens(job.name)
        no_name = math.nan
        return [
            math.log2(gpus) if gpus > 0 else -1.0,
            float(job.tasks),
            job.gpu_milli / MILLI,
            (job.submit % DAY) / 3600.0,
            float(int((job.submit % WEEK) // DAY)),
            self.user.median(job.user),
            float(self.user.count(job.user)),
            self.user.last(job.user),
            self.user_gpus.median((job.user, gpus)),
            self.user_gpus.last((job.user, gpus)),
            self.user_name.median((job.user, name)) if name else no_name,
            self.name.median(name) if name else no_name,
            self.queue.median(job.queue),
            self.cluster.median(None),
        ]
