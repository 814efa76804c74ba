"""Expected GPU fragmentation of nodes under a workload's typical tasks (FGD, ATC'23 §3).

Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads with Fragmentation
Gradient Descent" (USENIX ATC'23), §3.2: seen from one task type, a node's free GPU capacity is
*fragmented* where that task cannot use it:

* if the task cannot run on the node at all (too little free CPU or memory, a GPU model it does
  not accept, or fewer GPUs with enough free share than it asks for), all of the node's free GPU
  capacity is fragmented;
* otherwise the free share of every GPU holding less than the task needs of one GPU (its share,
  or a whole GPU for a whole-GPU task) is fragmented.

A node's fragmentation is the expectation of that amount over the workload's task types,
weighted by their popularity (§3.3). Task types that request no GPU are left out of the
workload: from their point of view every free GPU would count as fragmented, even on an empty
cluster. They still matter through the CPU and memory they take.

The measure is vectorised over nodes because a placement score rates thousands of candidate
nodes at once and a backend re-measures the nodes each event touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from corral.model import MILLI, InvalidSpec, Job
from corral.model.resources import check_task_gpu_milli

TaskKey = tuple[int, int, int, tuple[str, ...]]
"""A task type: milli-GPUs per task, CPU (milli-cores), memory (MiB), accepted GPU models."""


def task_key(job: Job) -> TaskKey:
    """The type of each of *job*'s tasks."""
    return (job.gpu_milli, job.cpu_milli, job.memory_mib, job.gpu_types)


@dataclass(frozen=True)
class TaskTypes:
    """A workload's typical tasks and their popularity (weights sum to 1; empty: no GPU tasks)."""

    keys: tuple[TaskKey, ...]
    weights: np.ndarray

    @classmethod
    def from_counts(cls, counts: Mapping[TaskKey, float], max_types: int | None = None
                    ) -> TaskTypes:
        """The GPU-requesting types of *counts* (type -> tasks seen), most popular first, keeping
        the *max_types* most popular (FGD's "typical tasks") and renormalising their weights."""
        for key, count in counts.items():
            check_task_gpu_milli(key[0])
            if not count > 0:
                raise InvalidSpec(f"task type {key}: popularity must be > 0, got {count!r}")
        ranked = sorted(((count, key) for key, count in counts.items() if key[0] > 0),
                        key=lambda item: (-item[0], item[1]))
        if max_types is not None:
            ranked = ranked[:max_types]
        weights = np.array([count for count, _ in ranked], dtype=float)
        if weights.size:
            weights /= weights.sum()
        return cls(tuple(key for _, key in ranked), weights)

    @classmethod
    def of_jobs(cls, jobs: Iterable[Job], max_types: int | None = None) -> TaskTypes:
        """The task-type distribution of *jobs*, each job counting once per task."""
        counts: dict[TaskKey, float] = {}
        for job in jobs:
            key = task_key(job)
            counts[key] = counts.get(key, 0) + job.tasks
        return cls.from_counts(counts, max_types)


TABLE_CELLS = 1 << 22
"""Largest fit table (floats) a measure builds; beyond it each task type is checked directly."""


class FragmentationMeasure:
    """Expected fragmented GPU capacity (milli-GPUs) of nodes, for one workload on one cluster.

    Built once per workload and cluster (the GPU model names map type constraints to the
    cluster's node type ids); calling it measures any number of node states at once.

    Task types that ask the same of each GPU fragment a node alike once they fit, so the work
    per node is over those GPU *shapes* (share per GPU, GPUs), not over every type: a table
    gives, for each node type and each count of distinct CPU and memory requests a node could
    still meet, the popularity of the types of each shape that fit there.
    """

    def __init__(self, types: TaskTypes, gpu_type_names: Sequence[str]) -> None:
        keys = types.keys
        milli = np.array([key[0] for key in keys], dtype=np.int64)
        need = np.minimum(milli, MILLI)
        gpus = np.maximum(milli // MILLI, 1)
        self._thresholds = np.unique(need)
        self._level = np.searchsorted(self._thresholds, need)
        self._gpus = gpus
        self._cpu = np.array([key[1] for key in keys], dtype=np.int64)
        self._mem = np.array([key[2] for key in keys], dtype=np.int64)
        self._weights = types.weights
        self._accepts: np.ndarray | None = None
        if any(key[3] for key in keys):
            accepts = np.ones((len(gpu_type_names), len(keys)), dtype=bool)
            for t, key in enumerate(keys):
                if key[3]:
                    accepts[:, t] = [name in key[3] for name in gpu_type_names]
            self._accepts = accepts
        self.empty = not keys
        """True when the workload has no GPU tasks (nothing is ever fragmented)."""
        self.uses_cpu = bool(self._cpu.any())
        self.uses_memory = bool(self._mem.any())
        self.uses_gpu_type = self._accepts is not None
        # A GPU's *level*, counted from the top: 0 if its free share meets every per-GPU need,
        # ..., len(needs) if it meets none. Free shares are whole milli-GPUs, so one lookup.
        levels = len(self._thresholds) + 1
        self._level_of = levels - 1 - np.searchsorted(
            self._thresholds, np.arange(MILLI + 1), side="right")
        self._levels = levels
        shapes, shape_of = np.unique(np.stack((self._level, gpus)), axis=1, return_inverse=True)
        # GPUs meeting need d are those of levels 0 .. levels-2-d: running totals over levels
        # give them at row levels-2-d.
        self._shape_row = levels - 2 - shapes[0]
        self._type_row = levels - 2 - self._level
        self._shape_gpus = shapes[1]
        self._cpu_steps, cpu_rank = np.unique(self._cpu, return_inverse=True)
        self._mem_steps, mem_rank = np.unique(self._mem, return_inverse=True)
        kinds = len(gpu_type_names) if self.uses_gpu_type else 1
        cpus, mems = len(self._cpu_steps) + 1, len(self._mem_steps) + 1
        self._table: np.ndarray | None = None
        if not self.empty and kinds * cpus * mems * shapes.shape[1] <= TABLE_CELLS:
            table = np.zeros((kinds, cpus, mems, shapes.shape[1]))
            accepts = self._accepts if self._accepts is not None else np.ones((1, len(keys)), bool)
            kind, t = np.nonzero(accepts)
            np.add.at(table, (kind, cpu_rank.ravel()[t] + 1, mem_rank.ravel()[t] + 1,
                              shape_of.ravel()[t]), self._weights[t])
            self._table = table.cumsum(axis=1).cumsum(axis=2).reshape(-1, shapes.shape[1])

    def __call__(self, gpu_free: np.ndarray, cpu_free: np.ndarray, mem_free: np.ndarray,
                 node_type: np.ndarray) -> np.ndarray:
        """Expected fragmented milli-GPUs of each row: *gpu_free* is (nodes, GPUs) free milli-GPU
        per GPU (absent GPUs 0), the others are per node."""
        rows, levels = len(gpu_free), self._levels
        total = gpu_free.sum(axis=1)
        if self.empty or not rows:
            return np.zeros(rows)
        # A histogram of GPU levels per row, summed over levels, gives for every per-GPU need
        # the count (and free share) of the GPUs that meet it, without a (nodes, GPUs, needs)
        # array. (A matrix product would do it too, but BLAS threads stall on a busy machine.)
        bins = (self._level_of[gpu_free] * rows + np.arange(rows)[:, None]).ravel()
        size = rows * levels
        count = _running_total(np.bincount(bins, minlength=size).reshape(levels, rows))
        share = _running_total(
            np.bincount(bins, gpu_free.ravel(), minlength=size).reshape(levels, rows))
        if self._table is None:
            return total - self._usable_by_type(count, share, cpu_free, mem_free, node_type)
        cell = np.searchsorted(self._cpu_steps, cpu_free, side="right") * (
            len(self._mem_steps) + 1) + np.searchsorted(self._mem_steps, mem_free, side="right")
        if self._accepts is not None:
            cell += node_type * (len(self._table) // len(self._accepts))
        weight = self._table.take(cell, axis=0)  # popularity of the fitting types, per shape
        row = self._shape_row
        usable = np.where(count[row] >= self._shape_gpus[:, None], share[row], 0.0)
        # Weights sum to 1: E[frag] = free - E[free share a type can use where it fits at all].
        return total - np.einsum("ij,ji->j", usable, weight)

    def _usable_by_type(self, count: np.ndarray, share: np.ndarray, cpu_free: np.ndarray,
                        mem_free: np.ndarray, node_type: np.ndarray) -> np.ndarray:
        """Expected free share a task type can use, checking every type on every node (for
        workloads too varied for the fit table)."""
        row = self._type_row
        fits = count[row] >= self._gpus[:, None]  # (task types, nodes)
        if self.uses_cpu:
            fits &= cpu_free >= self._cpu[:, None]
        if self.uses_memory:
            fits &= mem_free >= self._mem[:, None]
        if self._accepts is not None:
            fits &= self._accepts[node_type].T
        return np.einsum("i,ij->j", self._weights, np.where(fits, share[row], 0.0))


def _running_total(histogram: np.ndarray) -> np.ndarray:
    """Running totals down the first axis of a (levels, rows) array, in place.

    numpy's cumsum walks each column on its own, which is quick for a few rows; over many rows
    adding whole rows level by level is several times faster.
    """
    if histogram.shape[1] < 256:
        return np.cumsum(histogram, axis=0, out=histogram)
    for level in range(1, len(histogram)):
        histogram[level] += histogram[level - 1]
    return histogram
