"""A tenant's share of the cluster (Kueue ClusterQueue / Volcano Queue are the references)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from corral.model.errors import InvalidSpec
from corral.model.limits import MAX_QUEUE_WEIGHT

_EMPTY: Mapping[str, int] = MappingProxyType({})
MAX_AMOUNT = 2**53
"""Largest quota or limit in Corral's units: far above any cluster's milli-CPU, and small
enough that sums over thousands of queues stay exact."""


@dataclass(frozen=True, slots=True)
class Queue:
    """A queue with a guaranteed quota per resource, a fair-share weight and a borrowing limit.

    Resources are named as in Kubernetes (``nvidia.com/gpu``, ``cpu``, ``memory``, or
    ``nvidia.com/gpu:<TYPE>`` for one GPU type) and counted in Corral's integer units
    (milli-GPU, milli-CPU, MiB). ``borrowing_limit`` None means "may borrow any idle capacity".
    """

    name: str
    quota: Mapping[str, int] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)
    weight: float = 1.0
    borrowing_limit: Mapping[str, int] | None = field(default=None, compare=False, hash=False)
    parent: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidSpec("a queue needs a name")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int | float) \
                or not math.isfinite(self.weight) or not 0 < self.weight <= MAX_QUEUE_WEIGHT:
            raise InvalidSpec(f"queue {self.name}: weight must be a number in "
                              f"(0, {MAX_QUEUE_WEIGHT:,}], got {self.weight!r}")
        for resource, amount in (*self.quota.items(), *(self.borrowing_limit or {}).items()):
            if amount < 0:
                raise InvalidSpec(f"queue {self.name}: quota for {resource} is negative")
            if amount > MAX_AMOUNT:
                raise InvalidSpec(f"queue {self.name}: {amount:,} of {resource} is more than "
                                  f"any cluster has")
