"""A tenant's share of the cluster (Kueue ClusterQueue / Volcano Queue are the references)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from corral.model.errors import InvalidSpec

_EMPTY: Mapping[str, int] = MappingProxyType({})


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
        if not self.weight > 0:
            raise InvalidSpec(f"queue {self.name}: weight must be > 0")
        for resource, amount in self.quota.items():
            if amount < 0:
                raise InvalidSpec(f"queue {self.name}: quota for {resource} is negative")
