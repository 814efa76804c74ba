"""HeterogeneityAware (Score): place a job on the GPU type where its throughput is highest
relative to the demand for that type.

Gavel (Narayanan et al., OSDI'20) rates an allocation by a job's *effective throughput*, its
throughput on each accelerator type weighted by its share of that type (§3.1), and compares jobs
by throughput normalised to a reference allocation (§4.1), so that a fast type goes to the jobs
that gain most from it rather than to whoever asks first. Gavel solves for time shares over
rounds (§5); a placement score can only weigh one job's options now, so this plugin keeps the
two ingredients that decide where a job should go:

* *normalised throughput*: the node's relative speed (``ClusterState.node_speed``, the
  backend's speed table) over the fastest type the job may use, so 1 on its best type (the
  table is per type, not per job as Gavel's profiles are, so jobs differ only by the types
  they may use);
* *demand*: the waiting jobs that can only use a type, or prefer it, claim its free GPUs; a
  type whose free GPUs are claimed by others is worth less to a job that has alternatives, in
  proportion to the claimed share. Jobs do not then take the one type that constrained jobs
  need while another type stands idle.

With ``throughput_table`` (written by ``corral trial export`` from measured trial runs, see
:mod:`corral.measured.throughput_table`) a job whose class the table lists gets its own speeds,
Gavel's per-job matrix measured instead of assumed; its class is its name matched against
``job_classes`` patterns, or, with none given, its name itself (trial results are stored under
the job's key). Types the table does not list for the class keep the backend's speed, so both
must be relative to the same reference type (``corral trial export --reference``).

Score = 100 x (speed / fastest allowed x (1 - claimed share) + ``preference`` where the job
prefers the type) / (1 + ``preference``). ``Job.preferred_gpu_types`` is a soft preference; hard
restrictions (``Job.gpu_types``) are GpuTypeFilter's. Claims are counted once per cycle over the
first ``lookahead`` waiting jobs in queue order (the ones that compete for capacity soon), so a
cycle costs a bounded pass however long the queue; on a single-type cluster the score is uniform
and costs nothing.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from corral.core.cluster_state import ClusterState
from corral.core.cycle_state import CycleState
from corral.core.framework import MAX_SCORE, Score
from corral.measured import JobClasses, ThroughputTable, read_throughput_table
from corral.model import MILLI, ConfigError, Job
from corral.plugins import names
from corral.plugins.arg_checks import number, whole

MAX_PREFERENCE = 1000.0
"""Largest preference: at 1 a preferred type already always ranks first."""
MAX_LOOKAHEAD = 1_000_000
"""Most waiting jobs counted per cycle."""


@dataclass(frozen=True, slots=True)
class HeterogeneityAwareArgs:
    """``preference``: worth added to a type the job prefers, in units of the fastest type's
    worth (at 1 a preferred type always ranks first; below 1 a much faster type may win);
    ``lookahead``: waiting jobs, in queue order, whose type demand is counted each cycle;
    ``throughput_table``: a measured throughput table file ("" = the backend's per-type speeds
    for every job); ``job_classes``: job-name pattern -> the table's job class."""

    preference: float = 1.0
    lookahead: int = 256
    throughput_table: str = ""
    job_classes: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        """A preference >= 0 and a lookahead >= 1."""
        number("HeterogeneityAware.preference", self.preference, low=0.0, high=MAX_PREFERENCE)
        whole("HeterogeneityAware.lookahead", self.lookahead, low=1, high=MAX_LOOKAHEAD)
        if not isinstance(self.throughput_table, str):
            raise ConfigError("HeterogeneityAware.throughput_table must be a file path")
        JobClasses(self.job_classes, "HeterogeneityAware.job_classes")
        self.load_table()

    def load_table(self) -> ThroughputTable | None:
        return read_throughput_table(self.throughput_table) if self.throughput_table else None


@dataclass(slots=True)
class _Demand:
    """One cycle's claims on each GPU type (aligned with ``ClusterState.gpu_types``)."""

    claimed: np.ndarray
    """GPUs that waiting jobs bound to, or preferring, each type ask for."""
    free: np.ndarray
    """Free GPUs of each type when first asked in the cycle: read with the claims, so that
    placements later in the cycle (which shrink both) do not skew one against the other."""
    own: dict[str, tuple[np.ndarray, float]]
    """Each claiming job's types and GPUs per type, so its own claim is left out for it."""


class HeterogeneityAware:
    """Higher for faster GPU types, less where waiting jobs that need the type claim it."""

    name: ClassVar[str] = names.HETEROGENEITY_AWARE
    extension_points: ClassVar[tuple[str, ...]] = ("score",)
    Args = HeterogeneityAwareArgs
    _STATE_KEY: ClassVar[str] = "Score" + names.HETEROGENEITY_AWARE

    def __init__(self, args: HeterogeneityAwareArgs | None = None) -> None:
        self.args = args or HeterogeneityAwareArgs()
        self.table = self.args.load_table()
        self.classes = JobClasses(self.args.job_classes, "HeterogeneityAware.job_classes")
        self._speeds: dict[tuple[int, str], np.ndarray | None] = {}

    def score(self, state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
              remaining: int) -> np.ndarray | float:
        """Scores in [0, 100] by the node's GPU type (uniform on a single-type cluster)."""
        cluster = state.cluster
        if len(cluster.gpu_types) < 2:
            return MAX_SCORE
        speed = self._job_speed(cluster, job) if self.table is not None else cluster.type_speed
        allowed = _type_ids(cluster.gpu_types, job.gpu_types)
        worth = speed / speed[allowed].max() if allowed is not None else speed / speed.max()
        demand = self._demand(state)
        if demand.claimed.any():
            claimed = demand.claimed
            own = demand.own.get(job.id)
            if own is not None:
                claimed = claimed.copy()
                claimed[own[0]] -= own[1]
            share = np.divide(claimed, demand.free, out=(claimed > 0).astype(float),
                              where=demand.free > 0)
            worth = worth * (1.0 - np.clip(share, 0.0, 1.0))
        scale = MAX_SCORE
        preferred = _type_ids(cluster.gpu_types, job.preferred_gpu_types)
        if preferred is not None and self.args.preference:
            worth = worth.copy()
            worth[preferred] += self.args.preference
            scale /= 1.0 + self.args.preference
        return worth[cluster.node_type[nodes]] * scale

    def _job_speed(self, cluster: ClusterState, job: Job) -> np.ndarray:
        """The measured speeds of *job*'s class on the cluster's types (the backend's where the
        table has none), cached per class and cluster state."""
        job_class = self.classes.of(job) if self.classes else (job.name or job.id)
        if job_class is None:
            return cluster.type_speed
        key = (cluster.serial, job_class)
        if key not in self._speeds:
            measured = self.table.speeds_of(job_class) if self.table is not None else None
            speeds = None
            if measured:
                speeds = np.array([measured.get(t, float(cluster.type_speed[i]))
                                   for i, t in enumerate(cluster.gpu_types)])
            self._speeds[key] = speeds
        found = self._speeds[key]
        return found if found is not None else cluster.type_speed

    def _demand(self, state: CycleState) -> _Demand:
        """The claims of the first ``lookahead`` waiting jobs, once per cycle."""
        demand = state.data.get(self._STATE_KEY)
        if demand is not None:
            return demand
        cluster = state.cluster
        claimed = np.zeros(len(cluster.gpu_types))
        own: dict[str, tuple[np.ndarray, float]] = {}
        for waiting in itertools.islice(cluster.pending, self.args.lookahead):
            types = _claim(cluster, waiting)
            if types is not None:
                per_type = waiting.total_gpu_milli / MILLI / len(types)
                claimed[types] += per_type
                own[waiting.id] = (types, per_type)
        free = np.zeros(len(cluster.gpu_types))
        if own:
            free = np.bincount(cluster.node_type, weights=state.gpu_free.sum(axis=1),
                               minlength=len(cluster.gpu_types)) / MILLI
        demand = _Demand(claimed, free, own)
        state.data[self._STATE_KEY] = demand
        return demand


@functools.lru_cache(maxsize=1024)
def _type_ids(cluster_types: tuple[str, ...], gpu_types: tuple[str, ...]) -> np.ndarray | None:
    """Indices into *cluster_types* of the listed *gpu_types*, or None when the list is empty or
    names none of them (then it restricts nothing here). Cached: few distinct lists occur."""
    if not gpu_types:
        return None
    ids = np.flatnonzero(np.isin(cluster_types, gpu_types))
    ids.flags.writeable = False
    return ids if ids.size else None


def _claim(cluster: ClusterState, job: Job) -> np.ndarray | None:
    """The types *job* lays claim to: those it prefers among those it may use, else those it
    may use; None when that is every type (it needs no type in particular)."""
    allowed = _type_ids(cluster.gpu_types, job.gpu_types)
    preferred = _type_ids(cluster.gpu_types, job.preferred_gpu_types)
    if preferred is not None and allowed is not None:
        preferred = np.intersect1d(preferred, allowed)
        preferred = preferred if preferred.size else None
    types = preferred if preferred is not None else allowed
    if types is None or types.size == len(cluster.gpu_types):
        return None
    return types


_: Score = HeterogeneityAware()
