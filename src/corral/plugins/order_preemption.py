"""OrderPreemption (PostFilter): evict running gangs that the policy's own order now ranks
behind the waiting job.

Preemption for time-varying orders such as Tiresias' 2D-LAS (NSDI'19 §3.1: a job demoted past
a threshold yields to higher queues) and SRTF: a running job is a candidate when its queue key
at this instant (with the service it has received so far) is worse than the waiting job's.
Candidates are tried worst key first, then most recently started (least work lost); gangs go
whole. No livelock: a job preempted ``protect_after`` times is not preempted again before it
finishes. With ``key_fields``, only the key's leading fields justify an eviction: Tiresias
(§3.1) keeps jobs of one queue in the order they got there and preempts only for a higher
queue, so a waiting job never evicts a running one of its own queue (its FIFO tie-break orders
starts, not evictions, and each needless swap costs a checkpoint and scatters GPUs). With
queue quotas, victims come only from the job's own queue or from queues above their
guarantee: the order never takes a team's guaranteed GPUs.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from corral.core.cluster_state import ClusterState, RunningJob
from corral.core.cycle_state import CycleState
from corral.core.framework import PostFilter
from corral.core.status import Status
from corral.model import GPU, Job
from corral.plugins import names
from corral.plugins.arg_checks import whole
from corral.plugins.victim_search import ProtectionArgs, fewest_victims, may_evict

_Ranking = tuple[tuple[int, int], float, float, tuple[list[Any], list[RunningJob]]]
"""((cluster serial, running version), built at, holds until, (keys, running jobs))."""

MAX_KEY_FIELDS = 16
"""More leading fields than any order's key has."""


@dataclass(frozen=True, slots=True)
class OrderPreemptionArgs(ProtectionArgs):
    """``key_fields``: how many leading fields of the order's key must rank a running job
    behind the waiting one for it to be evicted (None: the whole key); with ``LasOrder``, 1
    compares queues only."""

    key_fields: int | None = None

    def validate(self) -> None:
        """A positive count or absent, for both arguments."""
        ProtectionArgs.validate(self)
        whole("OrderPreemption.key_fields", self.key_fields, low=1, high=MAX_KEY_FIELDS,
              optional=True)


class OrderPreemption:
    """Victims: preemptible running gangs whose current queue key is worse than the job's."""

    name: ClassVar[str] = names.ORDER_PREEMPTION
    extension_points: ClassVar[tuple[str, ...]] = ("post_filter",)
    Args = OrderPreemptionArgs
    _STATE_KEY: ClassVar[str] = "PostFilter" + names.ORDER_PREEMPTION

    def __init__(self, args: OrderPreemptionArgs | None = None) -> None:
        self.args = args or OrderPreemptionArgs()
        self._kept: _Ranking | None = None
        """The last ranking, reused while the running set and every running job's key stay
        the same."""
        self._keys: dict[str, tuple[RunningJob, Any, float]] = {}
        """Job id -> (its run, its key, until when the key holds), for the last ranking."""

    def preemption_rank(self, job: Job) -> str:
        """Later in the queue means a worse key, so no more victims; with quotas the victims
        also depend on the job's queue."""
        return job.queue

    def post_filter(self, state: CycleState, job: Job, status: Status,
                    fits: Callable[[CycleState], bool]) -> list[str]:
        """Victims (job ids) or [] when evicting every candidate would still not suffice."""
        keys, ranked = self._ranked_running(state)
        fields = self.args.key_fields
        own = state.cluster.order_of(job, state.now)
        first = bisect_right(keys, own if fields is None else own[:fields])
        candidates = [run for run in reversed(ranked[first:])
                      if run.job.id not in state.preempted]
        tree, usage = state.cluster.queues, state.usage
        if tree is not None and usage is not None and candidates:
            # Order decides within a queue and among borrowed GPUs, never against a guarantee.
            leaf = usage.chain(job.queue)[0]
            borrowing = {q for q in usage.jobs
                         if usage.of_queue(q).get(GPU, 0) > tree.guarantee[q].get(GPU, 0)}
            borrowing.add(leaf)
            candidates = [run for run in candidates
                          if usage.chain(run.job.queue)[0] in borrowing]
        return fewest_victims(state, candidates, fits, job.total_gpu_milli)

    def _ranked_running(self, state: CycleState) -> tuple[list[Any], list[RunningJob]]:
        """Running jobs that may be evicted, sorted by (queue key, start), and their keys (their
        leading ``key_fields``), once per cycle.

        The hot spot of preemptive policies (every running job is keyed in every cycle where
        a job waits): the keys come straight from the order's ``sort_key`` and the entries
        sort as plain tuples (the position breaks ties). Where the order says until when a
        running job's key holds (``cluster.key_holds_until``), the ranking is kept across
        cycles until the running set changes or a key would change, and then only the jobs
        that started since or whose key changed are keyed again."""
        cached = state.data.get(self._STATE_KEY)
        if cached is None:
            cluster, now = state.cluster, state.now
            stamp = (cluster.serial, cluster.running_version)
            kept = self._kept
            if kept is None or kept[0] != stamp or not kept[1] <= now < kept[2]:
                kept = self._rank(cluster, now, stamp)
            cached = kept[3]
            state.data[self._STATE_KEY] = cached
        return cached

    def _rank(self, cluster: ClusterState, now: float, stamp: tuple[int, int]) -> _Ranking:
        """The evictable running jobs sorted by (queue key, start), with their keys, and
        until when that holds (kept when the order says)."""
        key, holds, limit = cluster.order_key, cluster.key_holds_until, self.args.protect_after
        runs = [run for run in cluster.running.values() if may_evict(cluster, run.job, limit)]
        if holds is None:  # keys may change at any time: every job keyed, nothing kept
            entries = [(key(run.job, cluster, now), run.since, i) for i, run in enumerate(runs)]
            return (stamp, now, now, self._sorted(entries, runs))
        kept = self._kept  # its keys were computed no later than it was built
        memo = self._keys if kept is not None and kept[0][0] == stamp[0] and kept[1] <= now \
            else {}
        keys: dict[str, tuple[RunningJob, Any, float]] = {}
        entries = []
        until = math.inf
        for i, run in enumerate(runs):
            known = memo.get(run.job.id)
            if known is None or known[0] is not run or not now < known[2]:
                known = (run, key(run.job, cluster, now), holds(run, cluster, now))
            keys[run.job.id] = known
            until = min(until, known[2])
            entries.append((known[1], run.since, i))
        self._keys = keys
        self._kept = (stamp, now, until, self._sorted(entries, runs))
        return self._kept

    def _sorted(self, entries: list[tuple[Any, float, int]],
                runs: list[RunningJob]) -> tuple[list[Any], list[RunningJob]]:
        """(keys, jobs) sorted by (key, start, position); keys cut to ``key_fields``."""
        entries.sort()
        fields = self.args.key_fields
        return ([entry[0] if fields is None else entry[0][:fields] for entry in entries],
                [runs[entry[2]] for entry in entries])

_: PostFilter = OrderPreemption()
