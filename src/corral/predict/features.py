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
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Hashable

from corral.model import InvalidSpec, Job
from corral.model.resources import MILLI

RECENT = 20
"""How many of the most recent finished jobs each median looks at: recent habits predict best."""

DEFAULT_SECONDS = 3600.0
"""The fallback's answer before any job has finished: an hour, a common order of magnitude for
DL jobs."""

MIN_SECONDS = 1.0
"""Durations are floored at one second before taking logs (traces hold 0-second jobs)."""

DAY = 86_400.0
WEEK = 7 * DAY

FEATURE_NAMES = (
    "log_gpus", "tasks", "gpus_per_task", "hour_of_day", "day_of_week",
    "user_median", "user_count", "user_last", "user_gpus_median", "user_gpus_last",
    "user_gpus_p25", "user_gpus_p75", "user_gpus_min", "user_gpus_max", "user_gpus_count",
    "user_name_median", "name_median", "queue_median", "cluster_median",
    "user_failed_share", "user_last_failed", "log_since_user_submit", "user_submits_hour",
    "fallback",
)
"""Column order of :meth:`History.features`; log-duration statistics are NaN when unknown.
``fallback`` is the fallback chain's answer (log seconds), which the model corrects."""

FAILED_OUTCOMES = frozenset({"failed", "killed", "cancelled", "canceled", "timeout", "error"})
"""Outcomes that mean a job did not complete: a user whose last jobs failed is often debugging,
and debugging runs are short."""

HOUR = 3600.0

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


MAX_KEYS = 100_000
"""Keys (users, job names, ...) each statistic keeps, the least recently added to dropped
first: a scheduler that runs for months sees new job names every day."""


class RecentDurations:
    """The last :data:`RECENT` log-durations seen under each of the :data:`MAX_KEYS` keys
    most recently added to."""

    def __init__(self) -> None:
        self._by_key: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def add(self, key: Hashable, log_seconds: float) -> None:
        values = self._by_key.get(key)
        if values is None:
            values = self._by_key[key] = deque(maxlen=RECENT)
            if len(self._by_key) > MAX_KEYS:
                self._by_key.popitem(last=False)
        else:
            self._by_key.move_to_end(key)
        values.append(log_seconds)

    def median(self, key: Hashable) -> float:
        """Median log-duration under ``key``; NaN when nothing finished under it yet."""
        values = self._by_key.get(key)
        return statistics.median(values) if values else math.nan

    def quartiles(self, key: Hashable) -> tuple[float, float, float, float]:
        """25th and 75th percentiles, minimum and maximum under ``key`` (NaN when none)."""
        values = self._by_key.get(key)
        if not values:
            return (math.nan,) * 4
        ordered = sorted(values)
        top = len(ordered) - 1
        return ordered[top // 4], ordered[(3 * top + 3) // 4], ordered[0], ordered[-1]

    def mean(self, key: Hashable) -> float:
        values = self._by_key.get(key)
        return sum(values) / len(values) if values else math.nan

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
        self.user_failed = RecentDurations()
        """1.0 for each recent job of the user that failed or was killed, else 0.0."""
        self._user_submits: defaultdict[str, deque[float]] = defaultdict(
            lambda: deque(maxlen=RECENT))

    def finish(self, job: Job, end: float) -> None:
        """Record that ``job`` (with its true duration) ends at ``end``; seen once it is past."""
        if job.duration is None:
            raise InvalidSpec(f"job {job.id}: a finished job needs its duration")
        if not math.isfinite(end):
            raise InvalidSpec(f"job {job.id}: end time must be finite, got {end!r}")
        heapq.heappush(self._pending, (end, self._seq, job))
        self._seq += 1

    def advance(self, now: float, before: Callable[[Job], None] | None = None) -> list[Job]:
        """Move to ``now``; returns the jobs that ended before it, in end order, now visible.
        ``before(job)`` is called as each is about to become visible (history as it stood
        just before it ended)."""
        if now < self.now:
            raise InvalidSpec(f"time cannot go back: {now} is before {self.now}")
        self.now = now
        absorbed = []
        while self._pending and self._pending[0][0] < now:
            job = heapq.heappop(self._pending)[2]
            if before is not None:
                before(job)
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
        if job.outcome:
            self.user_failed.add(job.user, float(job.outcome.lower() in FAILED_OUTCOMES))

    def submitted(self, job: Job) -> None:
        """Note that ``job`` was submitted (submissions are known at once; durations are not)."""
        self._user_submits[job.user].append(job.submit)

    def features(self, job: Job) -> list[float]:
        """The :data:`FEATURE_NAMES` of ``job`` as known now (its duration is never read)."""
        gpus = gpu_count(job)
        name = name_tokens(job.name)
        no_name = math.nan
        submits = self._user_submits.get(job.user)
        since = math.log1p(max(0.0, job.submit - submits[-1])) if submits else math.nan
        last_hour = sum(1 for t in submits if job.submit - t < HOUR) if submits else 0
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
            *self.user_gpus.quartiles((job.user, gpus)),
            float(self.user_gpus.count((job.user, gpus))),
            self.user_name.median((job.user, name)) if name else no_name,
            self.name.median(name) if name else no_name,
            self.queue.median(job.queue),
            self.cluster.median(None),
            self.user_failed.mean(job.user),
            self.user_failed.last(job.user),
            since,
            float(last_hour),
            self.fallback_log(job),
        ]

    def fallback_log(self, job: Job) -> float:
        """The fallback chain's log-duration: the user's recent median for this GPU count,
        then the queue's, then the cluster's, then :data:`DEFAULT_SECONDS`."""
        for median in (self.user_gpus.median((job.user, gpu_count(job))),
                       self.queue.median(job.queue), self.cluster.median(None)):
            if not math.isnan(median):
                return median
        return math.log(DEFAULT_SECONDS)
