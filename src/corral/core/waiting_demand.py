"""What each leaf queue's waiting jobs ask, by GPU size, kept as jobs come and go.

Quota admission asks, once a cycle, how many GPUs each queue's waiting jobs that would run
within its guarantee ask in all. Summing the whole pending queue for that made each cycle as
slow as the queue is long; the few distinct gang sizes per queue answer it instead.
"""

from __future__ import annotations

from collections import Counter


class WaitingDemand:
    """Per leaf queue, how many waiting jobs (that fit the empty cluster) ask each GPU size."""

    __slots__ = ("_sizes",)

    def __init__(self) -> None:
        self._sizes: dict[str, Counter[int]] = {}

    def add(self, leaf: str, gpu_milli: int) -> None:
        """A job asking *gpu_milli* milli-GPUs waits in *leaf*."""
        self._sizes.setdefault(leaf, Counter())[gpu_milli] += 1

    def remove(self, leaf: str, gpu_milli: int) -> None:
        """A job counted by :meth:`add` no longer waits."""
        sizes = self._sizes[leaf]
        sizes[gpu_milli] -= 1
        if not sizes[gpu_milli]:
            del sizes[gpu_milli]
            if not sizes:
                del self._sizes[leaf]

    def leaves(self) -> list[str]:
        """The leaf queues with waiting jobs."""
        return list(self._sizes)

    def within(self, leaf: str, room: int) -> int:
        """Milli-GPUs the waiting jobs of *leaf* ask, counting only jobs that ask at most
        *room* each."""
        sizes = self._sizes.get(leaf)
        return sum(size * n for size, n in sizes.items() if size <= room) if sizes else 0
