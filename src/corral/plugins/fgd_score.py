"""FgdScore (Score): place tasks where they fragment the cluster's GPUs least.

Fragmentation Gradient Descent (Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing
Workloads with Fragmentation Gradient Descent", USENIX ATC'23, §4): for each candidate node,
measure the node's expected fragmentation under the workload's typical tasks (§3, see
:mod:`corral.core.fragmentation`) before and after the task lands on the GPUs the core would
give it, and prefer the node whose fragmentation grows least (or shrinks most). Unlike best fit
it may leave a GPU emptier when filling it would strand a share that popular tasks cannot use.

The workload is learned online from the jobs the plugin is asked to place (each job counts once
per task), as FGD's "typical tasks": the ``max_types`` most popular types. The measure is
rebuilt when a new type appears or the tasks seen have grown by :data:`REFRESH_GROWTH` since
the last build: popularity estimated from thousands of tasks barely moves with one more.
``workload`` fixes the workload instead, e.g. to the task mix a cluster is known to receive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.fragmentation import FragmentationMeasure, TaskKey, TaskTypes, task_key
from corral.core.framework import MAX_SCORE, Score
from corral.core.gang_placement import gpus_left
from corral.model import MILLI, ConfigError, Job
from corral.model.limits import MAX_GPUS, MAX_NODE_CPU_CORES, MAX_NODE_MEMORY_GIB
from corral.plugins import names
from corral.plugins.arg_checks import number, whole

_TASK_FIELDS = {"gpu_milli", "cpu_milli", "memory_mib", "gpu_types", "weight"}
MAX_TYPES = 1_000_000
"""Most task types a learned workload keeps."""
MAX_WEIGHT = 1e12
"""Largest relative popularity of a fixed task type."""
REFRESH_GROWTH = 0.05
"""Relative growth of the tasks seen after which the learned popularity is refreshed."""


@dataclass(frozen=True, slots=True)
class FgdScoreArgs:
    """``max_types``: how many of the most popular task types the learned workload keeps;
    ``workload``: a fixed workload instead, a list of task types ``{gpu_milli = 500,
    cpu_milli = 4000, memory_mib = 8192, gpu_types = ["V100"], weight = 3}`` (only
    ``gpu_milli``, milli-GPUs per task, is required; weights are relative popularity)."""

    max_types: int = 64
    workload: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.workload, list):
            object.__setattr__(self, "workload", tuple(self.workload))

    def validate(self) -> None:
        """A positive type count, and well-formed task types."""
        whole("FgdScore.max_types", self.max_types, low=1, high=MAX_TYPES)
        if not isinstance(self.workload, tuple):
            raise ConfigError(f"FgdScore.workload must be a list of task types, "
                              f"got {self.workload!r}")
        self.fixed_types()

    def fixed_types(self) -> TaskTypes | None:
        """The fixed workload as task types, or None to learn it."""
        if not self.workload:
            return None
        counts: dict[TaskKey, float] = {}
        for i, entry in enumerate(self.workload):
            where = f"FgdScore.workload[{i}]"
            if not isinstance(entry, Mapping) or "gpu_milli" not in entry \
                    or set(entry) - _TASK_FIELDS:
                raise ConfigError(f"{where} must be a table with gpu_milli and optionally "
                                  f"{', '.join(sorted(_TASK_FIELDS - {'gpu_milli'}))}")
            milli = _count(entry, "gpu_milli", 0, where, MAX_GPUS * MILLI)
            if milli < 1 or (milli > MILLI and milli % MILLI):
                raise ConfigError(f"{where}.gpu_milli must be 1..{MILLI} or a multiple of "
                                  f"{MILLI}, got {milli}")
            types = entry.get("gpu_types", [])
            if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
                raise ConfigError(f"{where}.gpu_types must be a list of GPU model names")
            weight = number(f"{where}.weight", entry.get("weight", 1), low=0.0, high=MAX_WEIGHT,
                            low_open=True)
            assert weight is not None
            key = (milli, _count(entry, "cpu_milli", 0, where, MAX_NODE_CPU_CORES * 1000),
                   _count(entry, "memory_mib", 0, where, MAX_NODE_MEMORY_GIB * 1024),
                   tuple(types))
            counts[key] = counts.get(key, 0) + float(weight)
        return TaskTypes.from_counts(counts)


def _count(entry: Mapping[str, Any], field: str, default: int, where: str, most: int) -> int:
    value = whole(f"{where}.{field}", entry.get(field, default), low=0, high=most)
    assert value is not None
    return value


class FgdScore:
    """Score = 50 x (1 - fragmentation increase / GPU capacity of the largest node)."""

    name: ClassVar[str] = names.FGD_SCORE
    extension_points: ClassVar[tuple[str, ...]] = ("score",)
    Args = FgdScoreArgs

    def __init__(self, args: FgdScoreArgs | None = None) -> None:
        self.args = args or FgdScoreArgs()
        self._fixed = self.args.fixed_types()
        self._counts: dict[TaskKey, float] = {}
        self._seen: set[str] = set()
        self._tasks = 0.0
        self._refresh_at = 0.0
        self._measure: tuple[tuple[str, ...], FragmentationMeasure] | None = None

    def score(self, state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
              remaining: int) -> np.ndarray | float:
        """Higher where placing this node's share of the *remaining* tasks fragments less."""
        if self._fixed is None and job.id not in self._seen:
            self._learn(job)
        measure = self._measure_for(state.cluster.gpu_types)
        if measure.empty:
            return MAX_SCORE
        take = 1 if remaining == 1 else np.minimum(fit, remaining)
        before = state.gpu_free[nodes]
        after = gpus_left(before, job, take)
        cpu = state.cpu_free[nodes]
        mem = state.mem_free[nodes]
        kind = state.cluster.node_type[nodes]
        # One call for both states: half the fixed cost of the measure.
        frag = measure(np.concatenate((before, after)),
                       np.concatenate((cpu, cpu - take * job.cpu_milli)),
                       np.concatenate((mem, mem - take * job.memory_mib)),
                       np.concatenate((kind, kind)))
        growth = frag[len(nodes):] - frag[: len(nodes)]
        return (MAX_SCORE / 2) * (1.0 - growth / state.cluster.max_node_gpu_milli)

    def _learn(self, job: Job) -> None:
        """Count *job*'s tasks in the workload's popularity histogram (once per job)."""
        self._seen.add(job.id)
        key = task_key(job)
        if key[0] > 0:
            known = key in self._counts
            self._counts[key] = self._counts.get(key, 0) + job.tasks
            self._tasks += job.tasks
            if not known or self._tasks >= self._refresh_at:
                self._measure = None
                self._refresh_at = self._tasks * (1 + REFRESH_GROWTH)

    def _measure_for(self, gpu_types: tuple[str, ...]) -> FragmentationMeasure:
        cached = self._measure
        if cached is None or cached[0] != gpu_types:
            types = self._fixed if self._fixed is not None else \
                TaskTypes.from_counts(self._counts, self.args.max_types)
            cached = (gpu_types, FragmentationMeasure(types, gpu_types))
            self._measure = cached
        return cached[1]


_: Score = FgdScore()
