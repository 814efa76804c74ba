"""Hit and miss counts per dataset and per epoch.

A read belongs to the epoch given by how often that file was read before (its first read is
epoch 1, its second epoch 2, ...). Training reads every sample once per epoch, in any order and
from any number of worker processes, so this needs no epoch boundaries from the framework.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class EpochStats:
    """One dataset's reads in one epoch."""

    dataset: str
    epoch: int
    hits: int
    misses: int
    hit_bytes: int
    miss_bytes: int

    @property
    def hit_ratio(self) -> float:
        """Share of reads served from the cache (0 when nothing was read)."""
        reads = self.hits + self.misses
        return self.hits / reads if reads else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        """Share of bytes served from the cache."""
        total = self.hit_bytes + self.miss_bytes
        return self.hit_bytes / total if total else 0.0

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict, ratios included."""
        return {**asdict(self), "hit_ratio": self.hit_ratio,
                "byte_hit_ratio": self.byte_hit_ratio}


class StatsTable:
    """In-process counters behind :class:`EpochStats` (the ledger keeps the same in SQL)."""

    def __init__(self) -> None:
        self._reads: dict[str, int] = {}
        self._cells: dict[tuple[str, int], list[int]] = {}

    def count(self, dataset: str, key: str, hit: bool, size: int) -> None:
        """One read of *key*, in the epoch its read count puts it in."""
        epoch = self._reads[key] = self._reads.get(key, 0) + 1
        cell = self._cells.get((dataset, epoch))
        if cell is None:
            cell = self._cells[dataset, epoch] = [0, 0, 0, 0]
        cell[0 if hit else 1] += 1
        cell[2 if hit else 3] += size

    def rows(self) -> list[EpochStats]:
        """Every (dataset, epoch) counted so far, sorted."""
        return [EpochStats(d, e, *cell) for (d, e), cell in sorted(self._cells.items())]
