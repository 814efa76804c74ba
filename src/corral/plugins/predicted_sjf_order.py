"""PredictedSjfOrder (QueueSort): shortest predicted GPU-time first, with a starvation guard.

The Helios study's QSSF (Hu et al., SC'21, §5.1, "Quasi-Shortest-Service-First"): order waiting
jobs by their expected GPU-time (GPUs x predicted duration), predicted at submit time from the
cluster's own history, since users re-run similar jobs. Here the duration is the time still to
run, revised as a job outlives its estimate (:mod:`corral.plugins.run_time_estimate`), so with
preemption by queue order (``OrderPreemption``) the policy is a predicted SRTF and a job that
overruns its prediction yields to shorter ones the way LAS demotes it. Short-first alone starves
long jobs while short ones keep coming (QSSF has no guard); a job that has waited
``starvation_s`` goes to the front, oldest first, as Tiresias' starvation rule promotes.

A job past its estimates is taken to need as long again as it ran, so its time left grows as it
runs: two such jobs would swap at every re-plan, each swap a checkpoint. With ``band_ratio`` the
key also names a band of time left (``band_ratio`` times wider each, as Tiresias discretises
service into queues), and ``OrderPreemption`` with ``key_fields = 2`` evicts only for a job in
an earlier band; the order of starts is unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from corral.core.cluster_state import ClusterState
from corral.core.framework import QueueSort
from corral.model import Job
from corral.plugins import names
from corral.plugins.arg_checks import number, seconds
from corral.plugins.run_time_estimate import check_source, remaining_seconds

INF = float("inf")
MAX_BAND_RATIO = 1000.0
"""Bands wider than this would put every job of a trace in one or two."""


@dataclass(frozen=True, slots=True)
class PredictedSjfOrderArgs:
    """``estimate``: ``"predicted"`` (default), ``"limit"`` or ``"oracle"`` (for the reference
    twin); ``starvation_s``: a job waiting this long goes to the front (None: never);
    ``band_ratio``: how much wider each band of predicted GPU-seconds left is than the one
    before (None: one band)."""

    estimate: str = "predicted"
    starvation_s: float | None = 86_400.0
    band_ratio: float | None = None

    def validate(self) -> None:
        """A known source; positive durations."""
        check_source(names.PREDICTED_SJF_ORDER, self.estimate)
        seconds("PredictedSjfOrder.starvation_s", self.starvation_s, optional=True)
        number("PredictedSjfOrder.band_ratio", self.band_ratio, low=1.0, high=MAX_BAND_RATIO,
               low_open=True, optional=True)


class PredictedSjfOrder:
    """Key = (not starving, band, predicted remaining GPU-seconds, submit time)."""

    name: ClassVar[str] = names.PREDICTED_SJF_ORDER
    extension_points: ClassVar[tuple[str, ...]] = ("queue_sort",)
    Args = PredictedSjfOrderArgs

    def __init__(self, args: PredictedSjfOrderArgs | None = None) -> None:
        self.args = args or PredictedSjfOrderArgs()

    @property
    def reads_estimates(self) -> bool:
        """True with the backend's predictions."""
        return self.args.estimate == "predicted"

    @property
    def needs_oracle(self) -> bool:
        """True for the reference twin that reads true durations."""
        return self.args.estimate == "oracle"

    def promotes_at(self, job: Job, cluster: ClusterState) -> float | None:
        """A waiting job's key changes once, when it starts to starve (the state re-keys just
        those jobs, not the whole queue)."""
        starvation = self.args.starvation_s
        return cluster.pending_since[job.id] + starvation if starvation else None

    def sort_key(self, job: Job, cluster: ClusterState, now: float
                 ) -> tuple[int, float, float, float]:
        """0 and the submit time for a starving job; else 1, the band and the predicted
        GPU-seconds left."""
        starvation = self.args.starvation_s
        since = cluster.pending_since.get(job.id)
        if starvation and since is not None and now - since >= starvation:
            return (0, 0.0, 0.0, job.submit)
        left = remaining_seconds(self.args.estimate, job, cluster, now)
        if left is None:
            return (1, INF, INF, job.submit)
        gpu_seconds = left * cluster.gpus_of(job)
        ratio = self.args.band_ratio
        band = math.floor(math.log(max(gpu_seconds, 1.0), ratio)) if ratio else 0
        return (1, band, gpu_seconds, job.submit)


_: QueueSort = PredictedSjfOrder()
