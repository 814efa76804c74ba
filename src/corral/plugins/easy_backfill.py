"""EasyBackfill (Admit): later jobs may pass a blocked head only if they do not delay it.

EASY backfilling (Lifka, "The ANL/IBM SP scheduling system", JSSPP'95; Mu'alem and Feitelson,
TPDS 2001): the first job left waiting gets a reservation at its *shadow time*, the earliest
moment enough GPUs will be free by the running jobs' estimated ends; a later job may start now
if, by its own estimate, it ends before the shadow time, or if it only uses GPUs the head will
not need then (the *extra* GPUs). Estimates come from ``estimate``: ``"limit"`` trusts the
user's ``time_limit`` (a job without one is never backfilled), ``"oracle"`` uses true durations
(policies that say so are declared ``oracle``), ``"predicted"`` the backend's predictions from
the cluster's job history (the system-generated predictions of Tsafrir, Etsion and Feitelson,
TPDS 2007). Estimates of the time left are revised as jobs outlive them (see
:mod:`corral.plugins.run_time_estimate`). Counts GPUs cluster-wide, as EASY counts processors;
a head blocked by fragmentation rather than by the GPU count is reserved at the next estimated
completion, with no extra GPUs. Node fragmentation at the shadow time can still delay the head
a little. With ``reserve_after_s`` only a head that has waited that long gets a reservation (a
starvation guard for a policy that otherwise lets any fitting job start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from corral.core.cycle_state import CycleState
from corral.core.framework import Admit
from corral.core.status import OK, Code, Status
from corral.model import Job
from corral.plugins import names
from corral.plugins.arg_checks import seconds
from corral.plugins.run_time_estimate import check_source, remaining_seconds


@dataclass(frozen=True, slots=True)
class EasyBackfillArgs:
    """``estimate``: where run-time estimates come from, ``"limit"``, ``"oracle"`` or
    ``"predicted"``;
    ``reserve_after_s``: reserve only for a head that has waited this long (None: always)."""

    estimate: str = "limit"
    reserve_after_s: float | None = None

    def validate(self) -> None:
        """One of the known estimators; a positive wait."""
        check_source(names.EASY_BACKFILL, self.estimate)
        seconds("EasyBackfill.reserve_after_s", self.reserve_after_s, optional=True)


class EasyBackfill:
    """Admits a job behind the blocked head only if it cannot delay the head's reservation."""

    name: ClassVar[str] = names.EASY_BACKFILL
    extension_points: ClassVar[tuple[str, ...]] = ("admit",)
    Args = EasyBackfillArgs
    _STATE_KEY: ClassVar[str] = "Admit" + names.EASY_BACKFILL

    def __init__(self, args: EasyBackfillArgs | None = None) -> None:
        self.args = args or EasyBackfillArgs()

    @property
    def needs_oracle(self) -> bool:
        """True when estimates are the true durations."""
        return self.args.estimate == "oracle"

    @property
    def reads_estimates(self) -> bool:
        """True when estimates are the backend's predictions."""
        return self.args.estimate == "predicted"

    def remaining(self, job: Job, state: CycleState) -> float | None:
        """Seconds the job is expected to run from now, or None when there is nothing to trust."""
        return remaining_seconds(self.args.estimate, job, state.cluster, state.now)

    def admit(self, state: CycleState, job: Job) -> Status:
        """OK before any job was left waiting; afterwards only jobs that keep the head's time."""
        if not state.left_waiting:
            return OK
        head = state.left_waiting[0]
        after = self.args.reserve_after_s
        if after is not None and \
                state.now - state.cluster.pending_since.get(head.id, state.now) < after:
            return OK
        reservation = state.data.get(self._STATE_KEY)
        if reservation is None or reservation[0] != head.id:
            shadow, extra = self._shadow(state, head)
            wait = Status(Code.WAIT, (f"would delay {head.id}, reserved at t={shadow:.0f} s",),
                          self.name)
            reservation = [head.id, shadow, extra, wait]
            state.data[self._STATE_KEY] = reservation
        _, shadow, extra, wait = reservation
        length = self.remaining(job, state)
        if length is not None and state.now + length <= shadow:
            return OK
        if job.total_gpu_milli <= extra:
            reservation[2] = extra - job.total_gpu_milli  # this job keeps them past the shadow
            return OK
        return wait

    def _shadow(self, state: CycleState, head: Job) -> tuple[float, int]:
        """The head's shadow time and the GPUs (milli) spare at that time."""
        cluster, now = state.cluster, state.now
        free = state.free_gpu_milli
        ends = []
        for run in cluster.running.values():
            if run.job.id in state.preempted:
                continue
            length = self.remaining(run.job, state)
            end = now + length if length is not None else float("inf")
            ends.append((end, run.job.total_gpu_milli))
        ends.sort()
        if free >= head.total_gpu_milli:
            # Enough GPUs, on the wrong nodes: the head may start at the next completion, and
            # which GPUs it will take is not known, so none count as extra.
            return (ends[0][0] if ends else float("inf")), 0
        for end, gpus in ends:
            if free >= head.total_gpu_milli:
                break
            free += gpus
            now = end
        if free < head.total_gpu_milli or now == float("inf"):
            return float("inf"), 0  # no estimate says when the head can run: backfill nothing
        return now, free - head.total_gpu_milli


_: Admit = EasyBackfill()


