"""DrfOrder (QueueSort): queues within quota first, then Dominant Resource Fairness between
queues (hierarchically) and between users inside a queue.

Dominant Resource Fairness (Ghodsi et al., NSDI'11, §4): a tenant's dominant share is its
largest share of any one cluster resource (GPUs, GPUs of a type, CPU, memory), divided by its
weight; the tenant with the smallest dominant share is served next. Hierarchical DRF (Bhattacharya
et al., SoCC'13) compares siblings at each level: the key holds the dominant shares along the
queue's path from the root, so the least-served subtree goes first, then the least-served queue
in it. Kueue's and YuniKorn's ordering rule comes first: a job that would run within its queues'
guarantees goes ahead of one that would borrow. Inside a queue: priority, then the user's
dominant share, then arrival.

Shares are taken when a job is keyed (on arrival, after a preemption, and at every re-key), so
within one re-key period the order lags what the cycle starts; ``QuotaAdmit`` and
``QueuePreemption`` read usage live, so guarantees never depend on that lag. No starvation:
a job that has waited ``starvation_s`` goes to the front, by arrival (pair it with
``EasyBackfill.reserve_after_s`` so it also gets a reservation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from corral.core.cluster_state import ClusterState
from corral.core.framework import QueueSort
from corral.core.queue_usage import Amounts
from corral.model import Job
from corral.plugins import names
from corral.plugins.arg_checks import rekey_seconds, seconds
from corral.plugins.queue_quota import first_borrowed

STARVING, WITHIN_QUOTA, BORROWING = 0, 1, 2


@dataclass(frozen=True, slots=True)
class DrfOrderArgs:
    """``starvation_s``: a job waiting this long goes first (None: never); ``rekey_seconds``:
    how often shares and waits are re-read for the whole queue."""

    starvation_s: float | None = 6 * 3600.0
    rekey_seconds: float = 300.0

    def validate(self) -> None:
        """A wait in (0, 10 years] or absent; a period of 1 s to 10 years."""
        seconds("DrfOrder.starvation_s", self.starvation_s, optional=True)
        rekey_seconds("DrfOrder.rekey_seconds", self.rekey_seconds)


class DrfOrder:
    """Key = (starving / within quota / borrowing, dominant shares root to leaf, -priority,
    the user's dominant share, submit time)."""

    name: ClassVar[str] = names.DRF_ORDER
    extension_points: ClassVar[tuple[str, ...]] = ("queue_sort",)
    reads_queue_usage: ClassVar[bool] = True
    Args = DrfOrderArgs

    def __init__(self, args: DrfOrderArgs | None = None) -> None:
        self.args = args or DrfOrderArgs()

    @property
    def rekey_seconds(self) -> float:
        """Shares change with every start and finish, waits with time."""
        return self.args.rekey_seconds

    def sort_key(self, job: Job, cluster: ClusterState, now: float) -> tuple:
        """The job's class, its queues' and user's dominant shares, priority and arrival."""
        since = cluster.pending_since.get(job.id)
        limit = self.args.starvation_s
        if limit is not None and since is not None and now - since >= limit:
            return (STARVING, job.submit)
        usage, capacity = cluster.usage, cluster.capacity
        chain = usage.chain(job.queue)
        tree = cluster.queues
        level = BORROWING
        if tree is not None and first_borrowed(usage, tree, job) is None:
            level = WITHIN_QUOTA
        if tree is None:
            shares: tuple[float, ...] = (dominant_share(usage.of_queue(chain[0]), capacity),)
        else:
            # Root first; shorter branches padded so every key has the same layout.
            shares = tuple(dominant_share(usage.of_queue(q), capacity) / tree.queues[q].weight
                           for q in reversed(chain)) + (0.0,) * (tree.depth - len(chain))
        user = dominant_share(usage.of_user(chain[0], job.user), capacity)
        return (level, *shares, -job.priority, user, job.submit)


def dominant_share(held: Amounts, capacity: Amounts) -> float:
    """The largest fraction of any cluster resource that *held* takes (0 for nothing)."""
    share = 0.0
    for resource, amount in held.items():
        total = capacity.get(resource)
        if total and amount > 0:
            share = max(share, amount / total)
    return share


_: QueueSort = DrfOrder()
