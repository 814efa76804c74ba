"""Quota arithmetic that admission, fair-share order and reclaiming preemption share.

A job runs *within quota* when, at its leaf queue and at every ancestor, what the queue holds
plus what the job asks stays within the queue's guarantee for every governed resource;
otherwise it *borrows* idle capacity (Kueue's nominal quota and borrowing, YuniKorn's
guaranteed and max resources).
"""

from __future__ import annotations

from corral.core.queue_usage import QueueUsage, request
from corral.model import GPU, MILLI, Job, QueueTree


def first_borrowed(usage: QueueUsage, tree: QueueTree, job: Job) -> str | None:
    """Why starting *job* now would borrow ("queue q over its guarantee of r"), or None when
    it runs within quota at every level."""
    need = request(job)
    for queue in usage.chain(job.queue):
        held = usage.of_queue(queue)
        for resource, guaranteed in tree.guarantee[queue].items():
            if held.get(resource, 0) + need.get(resource, 0) > guaranteed \
                    and need.get(resource, 0):
                return f"queue {queue} over its guarantee of {_amount(resource, guaranteed)}"
    return None


def first_ceiling(usage: QueueUsage, tree: QueueTree, job: Job) -> str | None:
    """Why starting *job* now would exceed a queue's guarantee plus borrowing limit, or None."""
    need = request(job)
    for queue in usage.chain(job.queue):
        held = usage.of_queue(queue)
        for resource, ceiling in tree.ceiling[queue].items():
            if need.get(resource, 0) and held.get(resource, 0) + need[resource] > ceiling:
                return (f"queue {queue} may hold at most {_amount(resource, ceiling)} "
                        "(guarantee + borrowing limit)")
    return None


def within_leaf_guarantee(usage: QueueUsage, tree: QueueTree, job: Job) -> bool:
    """True when *job* fits its own leaf queue's guarantee (what reclaiming may restore)."""
    need = request(job)
    leaf = usage.chain(job.queue)[0]
    held = usage.of_queue(leaf)
    for resource, guaranteed in tree.guarantee[leaf].items():
        asked = need.get(resource, 0)
        if asked and held.get(resource, 0) + asked > guaranteed:
            return False
    return True


def gpu_excess(usage: QueueUsage, tree: QueueTree, job: Job) -> dict[str, int] | None:
    """For each queue on *job*'s chain whose ceiling starting it would break: the milli-GPUs
    that must be freed under that queue first; None when a non-GPU ceiling binds (freeing
    other queues' GPUs cannot help)."""
    need = request(job)
    excess: dict[str, int] = {}
    for queue in usage.chain(job.queue):
        held = usage.of_queue(queue)
        for resource, ceiling in tree.ceiling[queue].items():
            over = held.get(resource, 0) + need.get(resource, 0) - ceiling
            if over > 0 and need.get(resource, 0):
                if resource != GPU:
                    return None
                excess[queue] = over
    return excess


def _amount(resource: str, amount: int) -> str:
    """``8 nvidia.com/gpu``, ``4 cpu``, ``1024 MiB memory`` for messages."""
    if resource == "memory":
        return f"{amount} MiB memory"
    return f"{amount / MILLI:g} {resource}"
