"""Queues in a hierarchy: leaves hold jobs, inner queues pool their children's guarantees.

As Kueue's cohorts and YuniKorn's queue tree: a parent's quota is what its whole subtree is
guaranteed, and a child borrows first from idle capacity within its parent. Resource names
follow Kubernetes (``nvidia.com/gpu``, ``nvidia.com/gpu:<TYPE>``, ``cpu``, ``memory``) and
amounts are in Corral's integer units (milli-GPU, milli-CPU, MiB).

A tree has at most :data:`~corral.model.limits.MAX_QUEUES` queues and
:data:`~corral.model.limits.MAX_QUEUE_DEPTH` levels, and a child is never guaranteed more of a
resource than its parent, whose quota covers its whole subtree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from corral.model.errors import InvalidSpec
from corral.model.job import DEFAULT_QUEUE
from corral.model.limits import MAX_QUEUE_DEPTH, MAX_QUEUES
from corral.model.queue import Queue
from corral.model.resources import MILLI

GPU = "nvidia.com/gpu"
CPU = "cpu"
MEMORY = "memory"
GPU_OF_TYPE = GPU + ":"
"""Prefix of a per-GPU-type resource: ``nvidia.com/gpu:A100``."""


def is_known_resource(name: str) -> bool:
    """True for the resources a quota may name."""
    return name in (GPU, CPU, MEMORY) or (name.startswith(GPU_OF_TYPE) and
                                          len(name) > len(GPU_OF_TYPE))


class QueueTree:
    """Every queue by name, each leaf's chain of ancestors, and the queue for jobs naming none.

    A job's queue must be a leaf; a job that names no queue (Corral's ``default``) goes to
    *default*. Anything else is an :class:`InvalidSpec` naming the queue.
    """

    def __init__(self, queues: Iterable[Queue], default: str | None = None) -> None:
        self.queues: dict[str, Queue] = {}
        for queue in queues:
            if len(self.queues) == MAX_QUEUES:
                raise InvalidSpec(f"more than {MAX_QUEUES:,} queues, the most a hierarchy may "
                                  "have")
            if queue.name in self.queues:
                raise InvalidSpec(f"queue {queue.name!r} is defined twice")
            for resource in (*queue.quota, *(queue.borrowing_limit or {})):
                if not is_known_resource(resource):
                    raise InvalidSpec(f"queue {queue.name}: unknown resource {resource!r}; use "
                                      f"{GPU}, {GPU_OF_TYPE}<TYPE>, {CPU} or {MEMORY}")
            self.queues[queue.name] = queue
        if not self.queues:
            raise InvalidSpec("no queues defined")
        for queue in self.queues.values():
            if queue.parent is not None and queue.parent not in self.queues:
                raise InvalidSpec(f"queue {queue.name}: parent {queue.parent!r} is not defined")
        parents = {q.parent for q in self.queues.values() if q.parent is not None}
        self.leaves = tuple(name for name in self.queues if name not in parents)
        self.chains: dict[str, tuple[Queue, ...]] = {}
        """Each queue with its ancestors, itself first (a job's quota is checked at each)."""
        for name in self.queues:
            chain: list[Queue] = []
            seen: set[str] = set()
            node: str | None = name
            while node is not None:
                if node in seen:
                    raise InvalidSpec(f"queue {name}: parents form a cycle through {node!r}")
                if len(chain) == MAX_QUEUE_DEPTH:
                    raise InvalidSpec(f"queue {name}: more than {MAX_QUEUE_DEPTH} levels of "
                                      "parents, the most a hierarchy may have")
                seen.add(node)
                chain.append(self.queues[node])
                node = self.queues[node].parent
            self.chains[name] = tuple(chain)
        self.depth = max(len(chain) for chain in self.chains.values())
        """Levels in the deepest branch (1: a flat list of queues)."""
        if default is not None and default not in self.leaves:
            raise InvalidSpec(f"default queue {default!r} is not a leaf queue")
        self.default = default
        self.guarantee = {name: _guarantee(q, name in self.leaves)
                          for name, q in self.queues.items()}
        """What each queue is guaranteed, per governed resource. GPUs are always governed at
        a leaf (no GPU quota = a guarantee of 0: every GPU it uses is borrowed); other resources,
        and every resource of an inner queue, only where the quota names them."""
        self.ceiling = {name: _ceiling(q, self.guarantee[name])
                        for name, q in self.queues.items()}
        """The most each queue may hold (guarantee + borrowing limit) where a limit is set."""
        for name, queue in self.queues.items():
            if queue.parent is not None:
                _within_parent(name, self.guarantee[name], queue.parent,
                               self.guarantee[queue.parent])

    def __repr__(self) -> str:
        return f"QueueTree({list(self.queues.values())!r}, default={self.default!r})"

    def leaf_of(self, queue: str) -> str:
        """The leaf queue a job naming *queue* belongs to, or InvalidSpec if there is none."""
        if queue in self.leaves:
            return queue
        if queue == DEFAULT_QUEUE and self.default is not None:
            return self.default
        if queue in self.queues:
            raise InvalidSpec(f"queue {queue!r} has child queues; jobs go to leaf queues")
        raise InvalidSpec(f"unknown queue {queue!r}; known: {', '.join(sorted(self.leaves))}")

    def quota_gpus(self, name: str) -> float:
        """The GPUs *name* is guaranteed (all types together), for reports."""
        queue = self.queues[name]
        total = queue.quota.get(GPU)
        if total is None:
            total = sum(v for k, v in queue.quota.items() if k.startswith(GPU_OF_TYPE))
        return total / MILLI

    def report_quotas(self) -> Mapping[str, tuple[float, float]]:
        """Leaf queue -> (guaranteed GPUs, weight), as per-queue reports show them."""
        return {name: (self.quota_gpus(name), self.queues[name].weight) for name in self.leaves}


def _guarantee(queue: Queue, leaf: bool) -> dict[str, int]:
    """The queue's quota, with the all-GPU total derived from per-type quotas when absent."""
    guarantee = dict(queue.quota)
    if GPU not in guarantee:
        typed = [v for k, v in guarantee.items() if k.startswith(GPU_OF_TYPE)]
        if typed or leaf:
            guarantee[GPU] = sum(typed)
    return guarantee


def _within_parent(name: str, guarantee: Mapping[str, int], parent: str,
                   pooled: Mapping[str, int]) -> None:
    """InvalidSpec if queue *name* is guaranteed more of a resource than its *parent* pools
    for its whole subtree (only resources the parent governs)."""
    for resource, most in pooled.items():
        amount = guarantee.get(resource, 0)
        if amount > most:
            raise InvalidSpec(f"queue {name}: quota {_amount(resource, amount)} is more than its "
                              f"parent {parent}'s {_amount(resource, most)}")


def _amount(resource: str, amount: int) -> str:
    """``nvidia.com/gpu`` 64000 -> ``64 nvidia.com/gpu``; cpu in cores, memory in GiB."""
    if resource == CPU:
        return f"{amount / 1000:g} cores of cpu"
    if resource == MEMORY:
        return f"{amount / 1024:g} GiB of memory"
    return f"{amount / MILLI:g} {resource}"


def _ceiling(queue: Queue, guarantee: Mapping[str, int]) -> dict[str, int]:
    if queue.borrowing_limit is None:
        return {}
    return {r: guarantee.get(r, 0) + v for r, v in queue.borrowing_limit.items()}
