"""What a cluster can hold and what it holds free: the capacity index of the core's state.

Free capacity lives in numpy arrays over nodes (and over each node's GPUs) so that filters and
scores are vectorised instead of Python loops over nodes. It knows nodes and grants, not jobs'
histories nor any policy: a backend can build one (to check what fits) without a Scheduler.
:class:`~corral.core.cluster_state.ClusterState` adds the pending queue and per-job records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from corral.core.placement import Placement
from corral.core.queue_usage import Amounts
from corral.core.worker_scaling import WorkerScaling
from corral.model import CPU, GPU, GPU_OF_TYPE, MEMORY, MILLI, InvalidSpec, Job, Node


class CapacityIndex:
    """Nodes with their free GPUs (per GPU, in milli-GPU), CPU and memory, and what a job's
    shape could ever use of them."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        if not nodes:
            raise InvalidSpec("a cluster needs at least one node")
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            raise InvalidSpec("node names must be unique")
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.node_index = {name: i for i, name in enumerate(names)}
        self.gpu_types: tuple[str, ...] = tuple(sorted({n.gpu_type for n in nodes}))
        type_id = {t: i for i, t in enumerate(self.gpu_types)}
        self.node_type = np.array([type_id[n.gpu_type] for n in nodes], dtype=np.int32)
        self.gpu_count = np.array([n.gpus for n in nodes], dtype=np.int64)
        self.type_speed = np.ones(len(self.gpu_types))
        """Relative throughput of each GPU type (aligned with ``gpu_types``; 1.0 = reference)."""
        self.node_speed = np.ones(len(nodes))
        """Relative throughput of each node's GPUs; set both with :meth:`set_gpu_speeds`."""
        self.scaling = WorkerScaling()
        """Speed-up by worker count of elastic jobs; the backend sets the one it runs by."""
        width = max(1, int(self.gpu_count.max()))
        self.gpu_free = np.zeros((len(nodes), width), dtype=np.int64)
        for i, n in enumerate(nodes):
            self.gpu_free[i, : n.gpus] = MILLI
        self.whole_free = self.gpu_count.copy()
        self.cpu_capacity = np.array([n.cpu_milli for n in nodes], dtype=np.int64)
        self.mem_capacity = np.array([n.memory_mib for n in nodes], dtype=np.int64)
        self.cpu_free = self.cpu_capacity.copy()
        self.mem_free = self.mem_capacity.copy()
        self.total_gpu_milli = int(self.gpu_count.sum()) * MILLI
        self.max_node_gpu_milli = width * MILLI
        self.capacity: Amounts = {GPU: self.total_gpu_milli, CPU: int(self.cpu_capacity.sum()),
                                  MEMORY: int(self.mem_capacity.sum())}
        """The whole cluster's resources, by the names queue quotas use."""
        for i, gpu_type in enumerate(self.gpu_types):
            self.capacity[GPU_OF_TYPE + gpu_type] = int(
                self.gpu_count[self.node_type == i].sum()) * MILLI
        self._type_masks: dict[tuple[str, ...], np.ndarray] = {}
        self._node_masks: dict[frozenset[str], np.ndarray] = {}
        self._min_nodes: dict[tuple, int] = {}
        self.cached: dict[str, np.ndarray] = {}
        """Share of each dataset (0-1) each node's data cache holds, by dataset name; starts
        from ``Node.datasets`` and changes through :meth:`set_cached`."""
        for i, node in enumerate(nodes):
            for dataset, share in node.datasets.items():
                self.set_cached(i, dataset, share)

    def type_mask(self, gpu_types: tuple[str, ...]) -> np.ndarray:
        """Boolean mask of the nodes whose GPU type is one of *gpu_types* (all if empty)."""
        mask = self._type_masks.get(gpu_types)
        if mask is None:
            if gpu_types:
                wanted = [i for i, t in enumerate(self.gpu_types) if t in gpu_types]
                mask = np.isin(self.node_type, wanted)
            else:
                mask = np.ones(len(self.nodes), dtype=bool)
            mask.flags.writeable = False
            self._type_masks[gpu_types] = mask
        return mask

    def node_mask(self, names: frozenset[str]) -> np.ndarray:
        """Boolean mask of the nodes named in *names* (a job's ``eligible_nodes``); names of
        nodes this state does not hold are ignored."""
        mask = self._node_masks.get(names)
        if mask is None:
            mask = np.zeros(len(self.nodes), dtype=bool)
            index = self.node_index
            mask[[index[n] for n in names if n in index]] = True
            mask.flags.writeable = False
            self._node_masks[names] = mask
        return mask

    def allowed_mask(self, job: Job) -> np.ndarray:
        """Boolean mask of the nodes *job* may use at all: its GPU types and eligible nodes."""
        mask = self.type_mask(job.gpu_types)
        if job.eligible_nodes is not None:
            mask = mask & self.node_mask(job.eligible_nodes)
        return mask

    def capacity_tasks(self, job: Job) -> np.ndarray:
        """Tasks of *job* each node could host if it were empty (0 where it may not go)."""
        cap = job.max_tasks_per_node
        fit = np.where(self.allowed_mask(job), np.int64(1 << 40 if cap is None else cap), 0)
        if job.gpu_milli >= MILLI:
            fit = np.minimum(fit, self.gpu_count // job.whole_gpus_per_task)
        elif job.gpu_milli > 0:
            fit = np.minimum(fit, self.gpu_count * (MILLI // job.gpu_milli))
        for need, have in ((job.cpu_milli, self.cpu_capacity), (job.memory_mib, self.mem_capacity)):
            if need:
                fit = np.minimum(fit, have // need)
        return fit

    def min_nodes(self, job: Job) -> int:
        """The fewest nodes *job*'s gang could ever use here (0 if it can never fit); for an
        elastic gang too large for the cluster, the nodes that hold the most of it."""
        shape = job.shape
        cached = self._min_nodes.get(shape)
        if cached is None:
            per_node = np.sort(self.capacity_tasks(job))[::-1]
            reach = np.cumsum(np.minimum(per_node, job.tasks))
            hit = np.flatnonzero(reach >= job.tasks)
            if hit.size:
                cached = int(hit[0]) + 1
            else:
                cached = int(np.count_nonzero(per_node)) if reach[-1] >= job.min_tasks else 0
            self._min_nodes[shape] = cached
        return cached

    def ever_fits(self, job: Job) -> bool:
        """True if *job* (its minimum, when elastic) fits on this cluster when it is empty."""
        return self.min_nodes(job.with_tasks(job.min_tasks)) > 0

    # -- changes (backends only) ---------------------------------------------------------

    def set_gpu_speeds(self, speeds: Mapping[str, float]) -> None:
        """Set the relative throughput of each GPU type (types not listed: 1.0).

        The backend's speed table reaches the policies through the snapshot: the simulator
        passes the one its progress model uses, a live backend its profiles, and the core
        imports neither.
        """
        for gpu_type, speed in speeds.items():
            if isinstance(speed, bool) or not isinstance(speed, int | float) \
                    or not math.isfinite(speed) or speed <= 0:
                raise InvalidSpec(f"speed of GPU type {gpu_type!r} must be a finite number > 0, "
                                  f"got {speed!r}")
        self.type_speed = np.array([float(speeds.get(t, 1.0)) for t in self.gpu_types])
        self.node_speed = self.type_speed[self.node_type]
        self.type_speed.flags.writeable = False
        self.node_speed.flags.writeable = False

    def set_cached(self, node: int, dataset: str, share: float) -> None:
        """Node *node* now holds *share* (0-1) of *dataset* in its data cache."""
        shares = self.cached.get(dataset)
        if shares is None:
            shares = self.cached[dataset] = np.zeros(len(self.nodes))
        shares[node] = share

    def take(self, job: Job, placement: Placement, sign: int) -> None:
        """Give back (sign +1) or take (sign -1) the capacity *placement* names."""
        apply_grants(self.gpu_free, self.whole_free, self.cpu_free, self.mem_free,
                     job, placement, sign)


def apply_grants(gpu_free: np.ndarray, whole_free: np.ndarray, cpu_free: np.ndarray,
                 mem_free: np.ndarray, job: Job, placement: Placement, sign: int) -> None:
    """Add (sign +1) or subtract (sign -1) a placement's grants on free-capacity arrays.

    Shared by the state and by a cycle's reservations so both account identically.
    """
    cpu, mem = job.cpu_milli, job.memory_mib
    for grant in placement.grants:
        node = grant.node
        if grant.gpus:
            row = gpu_free[node]
            delta = sign * grant.milli
            for gpu in grant.gpus:
                row[gpu] += delta
            if grant.milli >= MILLI:
                whole_free[node] += sign * len(grant.gpus)
            else:
                whole_free[node] = int(np.count_nonzero(row == MILLI))
        if cpu:
            cpu_free[node] += sign * grant.tasks * cpu
        if mem:
            mem_free[node] += sign * grant.tasks * mem

