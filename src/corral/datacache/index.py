"""What a cache knows about its entries, apart from their bytes: the interface policies act on.

An index holds each entry's size and version, the order entries came in and were last used,
the bytes they take against the bound, and read statistics. :class:`MemoryIndex` keeps this
in the process (the simulator, a private memory tier); :class:`~corral.datacache.ledger.Ledger`
keeps it in a file shared by every process that uses one cache directory.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from corral.datacache.stats import EpochStats, StatsTable


class Index(Protocol):
    """Entries and their bookkeeping; every method is called under the cache's lock."""

    capacity: int
    """The byte bound: :meth:`add` never lets :meth:`used` exceed it."""

    def used(self) -> int:
        """Bytes the entries take."""
        ...

    def version_of(self, key: str) -> str | None:
        """The version stored for *key*, or None when it is not cached."""
        ...

    def add(self, key: str, dataset: str, version: str, size: int) -> None:
        """Record a new entry (the caller made room first)."""
        ...

    def evict(self, key: str) -> None:
        """Drop *key* (and, through the owner's hook, its bytes); no-op when absent."""
        ...

    def touch(self, key: str) -> None:
        """Mark *key* as just used."""
        ...

    def oldest(self) -> str | None:
        """The entry added first, or None when empty."""
        ...

    def least_recent(self) -> str | None:
        """The entry used longest ago, or None when empty."""
        ...

    def random_entry(self, rng: random.Random) -> str | None:
        """Any entry, uniformly at random, or None when empty."""
        ...

    def count(self, dataset: str, key: str, hit: bool, size: int) -> None:
        """Add one read of *key* to its dataset's statistics, in the epoch it belongs to."""
        ...

    def stats(self) -> list[EpochStats]:
        """Statistics per dataset and epoch."""
        ...

    def cached_bytes(self) -> dict[str, int]:
        """Bytes cached per dataset."""
        ...

    def dataset_bytes(self) -> dict[str, int]:
        """Each dataset's whole size, as its mount last listed it."""
        ...

    def set_dataset_bytes(self, dataset: str, size: int) -> None:
        """Record *dataset*'s whole size (so cached shares can be told)."""
        ...


class MemoryIndex:
    """An :class:`Index` in this process's memory, O(1) per operation."""

    def __init__(self, capacity: int, on_evict: Callable[[str], None] | None = None) -> None:
        self.capacity = capacity
        self._on_evict = on_evict
        self._used = 0
        self._entries: dict[str, tuple[str, str, int]] = {}
        self._added: OrderedDict[str, None] = OrderedDict()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._keys: list[str] = []
        self._slot: dict[str, int] = {}
        self._stats = StatsTable()
        self._dataset_bytes: dict[str, int] = {}

    def used(self) -> int:
        return self._used

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def version_of(self, key: str) -> str | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def add(self, key: str, dataset: str, version: str, size: int) -> None:
        if self._used + size > self.capacity:
            raise AssertionError(f"cache bound broken: {self._used} + {size} > {self.capacity}")
        self._entries[key] = (dataset, version, size)
        self._used += size
        self._added[key] = None
        self._recent[key] = None
        self._slot[key] = len(self._keys)
        self._keys.append(key)

    def evict(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._used -= entry[2]
        del self._added[key], self._recent[key]
        slot, last = self._slot.pop(key), self._keys.pop()
        if last != key:
            self._keys[slot] = last
            self._slot[last] = slot
        if self._on_evict is not None:
            self._on_evict(key)

    def touch(self, key: str) -> None:
        if key in self._recent:
            self._recent.move_to_end(key)

    def oldest(self) -> str | None:
        return next(iter(self._added), None)

    def least_recent(self) -> str | None:
        return next(iter(self._recent), None)

    def random_entry(self, rng: random.Random) -> str | None:
        return self._keys[rng.randrange(len(self._keys))] if self._keys else None

    def count(self, dataset: str, key: str, hit: bool, size: int) -> None:
        self._stats.count(dataset, key, hit, size)

    def stats(self) -> list[EpochStats]:
        return self._stats.rows()

    def cached_bytes(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for dataset, _, size in self._entries.values():
            totals[dataset] = totals.get(dataset, 0) + size
        return totals

    def dataset_bytes(self) -> dict[str, int]:
        return dict(self._dataset_bytes)

    def set_dataset_bytes(self, dataset: str, size: int) -> None:
        self._dataset_bytes[dataset] = size
