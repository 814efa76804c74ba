"""What each queue, and each user within a queue, holds right now.

Quota admission, fair-share order and reclaiming preemption all ask the same question ("how
much does this queue use?"), so the answer is kept incrementally, next to free capacity, and
changes exactly when capacity does: a start or reservation adds, a finish, preemption or
release subtracts (the cycle's undo log rolls it back with the arrays).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from corral.core.placement import Placement
from corral.model import CPU, GPU, GPU_OF_TYPE, MEMORY, Job, QueueTree

Amounts = dict[str, int]
"""Resource name -> amount in Corral's units (milli-GPU, milli-CPU, MiB)."""


class QueueUsage:
    """Per-queue resource amounts (leaves and their ancestors) and per-user ones in each leaf.

    Without a :class:`QueueTree` every queue a job names is a leaf of its own with no parent,
    so fair share still works between the queues a trace names.
    """

    def __init__(self, tree: QueueTree | None, type_names: Sequence[str],
                 node_type: np.ndarray) -> None:
        self.tree = tree
        self.by_queue: dict[str, Amounts] = {}
        self.by_user: dict[tuple[str, str], Amounts] = {}
        self.jobs: dict[str, set[str]] = {}
        """Ids of the jobs holding resources in each leaf queue (started or reserved)."""
        self._type_keys = [GPU_OF_TYPE + t for t in type_names]
        self._node_type = node_type.tolist()
        self._chains: dict[str, tuple[str, ...]] = {}

    def chain(self, queue: str) -> tuple[str, ...]:
        """The leaf a job naming *queue* belongs to, then its ancestors (InvalidSpec if the
        tree has no such queue)."""
        chain = self._chains.get(queue)
        if chain is None:
            if self.tree is None:
                chain = (queue,)
            else:
                chain = tuple(q.name for q in self.tree.chains[self.tree.leaf_of(queue)])
            self._chains[queue] = chain
        return chain

    def held(self, job: Job, placement: Placement) -> Amounts:
        """What *job* holds on *placement*: GPUs in all and per GPU type, CPU and memory."""
        amounts: Amounts = {}
        if job.gpu_milli:
            amounts[GPU] = job.total_gpu_milli
            keys, types = self._type_keys, self._node_type
            for grant in placement.grants:
                key = keys[types[grant.node]]
                amounts[key] = amounts.get(key, 0) + grant.tasks * job.gpu_milli
        if job.cpu_milli:
            amounts[CPU] = job.cpu_milli * job.tasks
        if job.memory_mib:
            amounts[MEMORY] = job.memory_mib * job.tasks
        return amounts

    def apply(self, job: Job, placement: Placement, sign: int) -> None:
        """Add (sign +1: the job now holds it) or remove (-1) what *job* holds."""
        amounts = self.held(job, placement)
        chain = self.chain(job.queue)
        for queue in chain:
            _add(self.by_queue.setdefault(queue, {}), amounts, sign)
        _add(self.by_user.setdefault((chain[0], job.user), {}), amounts, sign)
        members = self.jobs.setdefault(chain[0], set())
        if sign > 0:
            members.add(job.id)
        else:
            members.discard(job.id)

    def of_queue(self, queue: str) -> Amounts:
        """What *queue* (a leaf or an inner queue) holds now; do not modify."""
        return self.by_queue.get(queue, _NOTHING)

    def of_user(self, leaf: str, user: str) -> Amounts:
        """What *user* holds in the leaf queue *leaf* now; do not modify."""
        return self.by_user.get((leaf, user), _NOTHING)


_NOTHING: Amounts = {}


def request(job: Job) -> Amounts:
    """What *job* asks for before it is placed: GPUs in all (and of its one GPU type when it
    allows just one), CPU and memory. Shared per job shape; do not modify."""
    # Keyed without the eligible nodes, which a request does not depend on: a live backend
    # makes new node sets as its nodes change, and they must not pile up here.
    key = job.shape if job.eligible_nodes is None else job.shape[:-1]
    amounts = _REQUESTS.get(key)
    if amounts is None:
        amounts = _REQUESTS[key] = _request(job)
    return amounts


_REQUESTS: dict[tuple, Amounts] = {}
"""Requests by job shape less its eligible nodes (what a request depends on): a few hundred
shapes in a large trace."""


def _request(job: Job) -> Amounts:
    amounts: Amounts = {}
    if job.gpu_milli:
        amounts[GPU] = job.total_gpu_milli
        if len(job.gpu_types) == 1:
            amounts[GPU_OF_TYPE + job.gpu_types[0]] = job.total_gpu_milli
    if job.cpu_milli:
        amounts[CPU] = job.cpu_milli * job.tasks
    if job.memory_mib:
        amounts[MEMORY] = job.memory_mib * job.tasks
    return amounts


def _add(into: Amounts, amounts: Amounts, sign: int) -> None:
    for key, value in amounts.items():
        into[key] = into.get(key, 0) + sign * value
