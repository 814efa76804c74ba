"""LasOrder (QueueSort): Tiresias' discretised two-dimensional least-attained-service order.

Tiresias (Gu et al., NSDI'19, §3.1, "2D-LAS"): a job's priority is the GPU-time it has received
(GPUs x time run), discretised into a few queues by thresholds, so that short jobs finish
quickly without anyone knowing durations; within a queue, first come first served. With
preemption by queue order (``OrderPreemption``) a job that crosses a threshold yields to the
waiting jobs of higher queues. Starvation prevention (§3.1): a job that has waited longer than
``starvation_factor`` times its last run goes back to the highest queue.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import ClassVar

from corral.core.cluster_state import ClusterState, RunningJob
from corral.core.framework import QueueSort
from corral.model import MILLI, ConfigError, Job
from corral.model.limits import MAX_DURATION_S, MAX_GPUS
from corral.plugins import names
from corral.plugins.arg_checks import number, rekey_seconds

MAX_GPU_SECONDS = float(MAX_GPUS * MAX_DURATION_S)
"""More service than any job can attain: the largest cluster for the longest run."""
MAX_STARVATION_FACTOR = 1e6


@dataclass(frozen=True, slots=True)
class LasOrderArgs:
    """``thresholds``: GPU-seconds of attained service at which a job drops one queue (the
    defaults are the Tiresias simulator's ``dlas-gpu``); ``starvation_factor``: promote a job
    that waited this many times its last run (None: never); ``rekey_seconds``: how often
    waiting jobs are re-examined for promotion (re-keying costs a pass over the queue; a wait
    of 50 runs is not hurried by a few minutes)."""

    thresholds: tuple[float, ...] = (3250.0, 7200.0)
    starvation_factor: float | None = None
    rekey_seconds: float = 600.0

    def __post_init__(self) -> None:
        if isinstance(self.thresholds, list):
            object.__setattr__(self, "thresholds", tuple(self.thresholds))

    def validate(self) -> None:
        """Thresholds finite, positive and increasing; factor and period in range."""
        values = self.thresholds
        if not isinstance(values, tuple) or not values \
                or any(isinstance(v, bool) or not isinstance(v, int | float)
                       or not 0 < v <= MAX_GPU_SECONDS for v in values) \
                or list(values) != sorted(set(values)):
            raise ConfigError(f"LasOrder.thresholds must be a list of increasing numbers in "
                              f"(0, {MAX_GPU_SECONDS:.0e}] GPU-seconds, got {values!r}")
        number("LasOrder.starvation_factor", self.starvation_factor, low=0.0,
               high=MAX_STARVATION_FACTOR, low_open=True, optional=True)
        rekey_seconds("LasOrder.rekey_seconds", self.rekey_seconds)


class LasOrder:
    """Key = (queue by attained GPU-seconds, submit time)."""

    name: ClassVar[str] = names.LAS_ORDER
    extension_points: ClassVar[tuple[str, ...]] = ("queue_sort",)
    Args = LasOrderArgs

    def __init__(self, args: LasOrderArgs | None = None) -> None:
        self.args = args or LasOrderArgs()

    @property
    def rekey_seconds(self) -> float | None:
        """Waiting changes a key only through starvation promotion."""
        return self.args.rekey_seconds if self.args.starvation_factor else None

    def promotes_at(self, job: Job, cluster: ClusterState) -> float | None:
        """When the waiting *job* starves back to the highest queue (None: it is there, or
        never goes): the only way waiting changes its key, so re-keying touches just the jobs
        promoted, at the same re-examination times as a full re-key would."""
        factor = self.args.starvation_factor
        last = cluster.last_run.get(job.id)
        if not factor or last is None or not bisect_right(
                self.args.thresholds, cluster.attained.get(job.id, 0.0)):
            return None
        return cluster.pending_since[job.id] + factor * last

    def running_key_holds_until(self, run: RunningJob, cluster: ClusterState,
                                now: float) -> float:
        """A little before the running job crosses its next threshold after *now* (its key is
        its queue and submit time; a running job never starves): preemption re-keys running
        jobs only then. Early by a relative 1e-9 so that rounding never keeps a stale key."""
        rate = run.job.total_gpu_milli / MILLI
        attained = cluster.attained.get(run.job.id, 0.0)
        thresholds = self.args.thresholds
        level = bisect_right(thresholds, cluster.attained_service(run.job.id, now))
        if not rate or level == len(thresholds):
            return math.inf
        due = run.since + (thresholds[level] - attained) / rate
        return due - abs(due) * 1e-9 - 1e-9

    def sort_key(self, job: Job, cluster: ClusterState, now: float) -> tuple[int, float]:
        """The job's queue (0 = highest) and its submit time."""
        level = bisect_right(self.args.thresholds, cluster.attained_service(job.id, now))
        factor = self.args.starvation_factor
        if factor and level and job.id in cluster.pending_since:
            last = cluster.last_run.get(job.id)
            if last is not None and now >= cluster.pending_since[job.id] + factor * last:
                level = 0
        return (level, job.submit)


_: QueueSort = LasOrder()
