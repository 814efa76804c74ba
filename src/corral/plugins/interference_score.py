"""InterferenceScore (Score): put a fractional task beside the jobs it slows least, and only
while the GPU's measured utilisation leaves room.

Co-located jobs on one GPU compete for memory bandwidth, caches and (under MPS) SMs; how much
depends on the pair, which is why Gandiva (Xiao et al., OSDI'18, §4) profiles co-locations and
undoes bad ones. This plugin uses a pairwise interference table measured ahead of time
(:mod:`corral.measured.interference_table`, written by ``corral profile interference``) to rate
each candidate node by the GPU its next task would land on (the fullest one that fits, as the
core assigns GPUs), given the jobs already there (running, or placed earlier in this cycle):

* the extra slowdown the job suffers, the product of its pairwise slowdowns beside each tenant
  minus 1 (pairs are measured two at a time; the product is the simplest composition), plus
  the extra slowdown each tenant suffers beside it;
* score = 100 / (1 + that extra slowdown): 100 on an empty GPU, lower for worse company;
* 0 where the tenants' and the job's utilisation, each measured alone, add up to more than
  ``max_utilisation``: the rule of thumb "pack only while GPU utilisation stays at or below
  70%", as an argument (``corral profile check-rule`` says whether a table supports it).

A job's class (the table's workload name) comes from its name through ``job_classes``
(shell-style patterns, first match wins); an unknown job counts as the table's average
workload, and as using the share it asked for. Whole-GPU jobs share nothing: uniform score.

Cost: the tenants of every shared GPU are indexed once per cycle from the running fractional
jobs; scores are cached per (class, share, tenants), so a cycle pays per distinct co-location.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import MAX_SCORE, Score
from corral.measured import (
    InterferenceTable,
    JobClasses,
    default_interference_table,
    read_interference_table,
)
from corral.model import MILLI, ConfigError, Job
from corral.plugins import names
from corral.plugins.arg_checks import number

_Tenant = tuple[str, str | None, int]
"""(job id, class, milli-GPUs) of a job on a GPU."""


MAX_UTILISATION = 100.0
"""Largest utilisation threshold (above 1 the rule is already off)."""


@dataclass(frozen=True, slots=True)
class InterferenceScoreArgs:
    """``table``: an interference table file ("" = the one shipped with Corral, measured on an
    H200: see its header); ``max_utilisation``: the summed utilisation
    (0-1 of one GPU) above which a co-location scores 0 (above 1 switches the rule off);
    ``job_classes``: job-name pattern -> workload class of the table."""

    table: str = ""
    max_utilisation: float = 0.7
    job_classes: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        """A readable table, a positive threshold, well-formed patterns."""
        if not isinstance(self.table, str):
            raise ConfigError(f"InterferenceScore.table must be a file path, got {self.table!r}")
        number("InterferenceScore.max_utilisation", self.max_utilisation, low=0.0,
               high=MAX_UTILISATION, low_open=True)
        JobClasses(self.job_classes, "InterferenceScore.job_classes")
        self.load_table()

    def load_table(self) -> InterferenceTable:
        return read_interference_table(self.table) if self.table \
            else default_interference_table()


class InterferenceScore:
    """Higher where the next task's GPU holds jobs it interferes with least (see above)."""

    name: ClassVar[str] = names.INTERFERENCE_SCORE
    extension_points: ClassVar[tuple[str, ...]] = ("score",)
    Args = InterferenceScoreArgs
    _STATE_KEY: ClassVar[str] = "Score" + names.INTERFERENCE_SCORE

    def __init__(self, args: InterferenceScoreArgs | None = None) -> None:
        self.args = args or InterferenceScoreArgs()
        self.table = self.args.load_table()
        self.classes = JobClasses(self.args.job_classes, "InterferenceScore.job_classes")
        self._memo: dict[tuple[str | None, int, tuple[tuple[str | None, int], ...]], float] = {}

    def score(self, state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
              remaining: int) -> np.ndarray | float:
        """Scores in [0, 100] by the company on the GPU each node would give the next task."""
        milli = job.gpu_milli
        if not 0 < milli < MILLI:
            return MAX_SCORE
        rows = state.gpu_free[nodes]
        chosen = np.where(rows >= milli, rows, MILLI + 1).argmin(axis=1)
        free = rows[np.arange(len(nodes)), chosen]
        shared = np.flatnonzero(free < MILLI)
        if not shared.size:
            return MAX_SCORE
        tenants = self._tenants(state)
        job_class = self.classes.of(job)
        scores = np.full(len(nodes), MAX_SCORE)
        for i in shared.tolist():
            company = tenants.get((int(nodes[i]), int(chosen[i])), ())
            present = sorted(((c, m) for jid, c, m in company if jid not in state.preempted),
                             key=lambda t: (t[0] or "", t[1]))
            key = (job_class, milli, tuple(present))
            value = self._memo.get(key)
            if value is None:
                value = self._memo[key] = self._rate(job_class, milli, key[2])
            scores[i] = value
        return scores

    def _rate(self, job_class: str | None, milli: int,
              company: tuple[tuple[str | None, int], ...]) -> float:
        """The score of a job of *job_class* at *milli* joining *company* on one GPU."""
        if not company:
            return MAX_SCORE
        share = milli / MILLI
        table = self.table
        util = _util(table, job_class, milli) + sum(_util(table, c, m) for c, m in company)
        if util > self.args.max_utilisation + 1e-9:
            return 0.0
        own = math.prod(table.slowdown(job_class, c, share) for c, _ in company)
        theirs = sum(table.slowdown(c, job_class, m / MILLI) - 1 for c, m in company)
        extra = max(0.0, own - 1) + max(0.0, theirs)
        return MAX_SCORE / (1.0 + extra)

    def _tenants(self, state: CycleState) -> dict[tuple[int, int], list[_Tenant]]:
        """(node, GPU) -> jobs on it: the running fractional jobs, once per cycle, plus this
        cycle's fractional reservations whenever they changed."""
        cached = state.data.get(self._STATE_KEY)
        if cached is not None and cached[0] == state.version:
            return cached[1]
        base = cached[2] if cached is not None else None
        if base is None:
            base = {}
            for run in state.cluster.running.values():
                self._add(base, run.job, run.placement.grants)
        index = base
        reserved = [(j, p) for j, p in state.reservations() if j.is_fractional]
        if reserved:
            index = {k: list(v) for k, v in base.items()}
            for job, placement in reserved:
                self._add(index, job, placement.grants)
        state.data[self._STATE_KEY] = (state.version, index, base)
        return index

    def _add(self, index: dict[tuple[int, int], list[_Tenant]], job: Job,
             grants: tuple) -> None:
        if not job.is_fractional:
            return
        tenant = (job.id, self.classes.of(job), job.gpu_milli)
        for grant in grants:
            for gpu in grant.gpus:
                index.setdefault((grant.node, gpu), []).append(tenant)


def _util(table: InterferenceTable, job_class: str | None, milli: int) -> float:
    """Measured utilisation of *job_class* alone at its share, else the share it asked for."""
    measured = table.utilisation(job_class, milli / MILLI)
    return measured if measured is not None else milli / MILLI


_: Score = InterferenceScore()
