"""Replacement policies: which entries make room for a new one, or whether it is cached at all.

Training reads the whole dataset once per epoch in a fresh random order. When the dataset is
larger than the cache, LRU, FIFO and random eviction throw samples out before their next read,
so an epoch's hit ratio falls anywhere between 0 and cache / dataset. The no-replacement policy
(NR) keeps what it cached and never evicts during training, which gives exactly
cache / dataset every epoch after the first. It is CoorDL's MinIO cache (Mohan et al.,
"Analyzing and Mitigating Data Stalls in DNN Training", VLDB 2021, §4.1).

NR admits first come until full: in a shuffled first epoch that is a uniform random sample of
the dataset, which is all NR needs. A file that does not fit is skipped and later, smaller
files may still be admitted, so the cache fills to within one file of its bound. A file whose
version changed (the dataset changed) is dropped by the cache and its bytes are freed; NR then
admits whatever is read next into the freed space.
"""

from __future__ import annotations

import random
from typing import ClassVar

from corral.datacache.index import Index
from corral.model import ConfigError


class Policy:
    """The interface: told about hits, asked to make room for a miss. They keep no entry state:
    all state lives in the :class:`Index`, so every process sharing a ledger agrees on it."""

    name: ClassVar[str]

    def on_hit(self, index: Index, key: str) -> None:
        """*key* was read from the cache."""

    def make_room(self, index: Index, size: int) -> bool:
        """Evict until *size* more bytes fit; False to leave the new entry uncached."""
        raise NotImplementedError


class NoReplacement(Policy):
    """Admit while there is room; never evict."""

    name = "nr"

    def make_room(self, index: Index, size: int) -> bool:
        return index.used() + size <= index.capacity


class _Evicting(Policy):
    """Evict victims, one at a time, in the order :meth:`victim` gives."""

    def make_room(self, index: Index, size: int) -> bool:
        if size > index.capacity:
            return False
        while index.used() + size > index.capacity:
            victim = self.victim(index)
            if victim is None:
                return False
            index.evict(victim)
        return True

    def victim(self, index: Index) -> str | None:
        """The next entry to evict."""
        raise NotImplementedError


class Fifo(_Evicting):
    """Evict the entry cached first."""

    name = "fifo"

    def victim(self, index: Index) -> str | None:
        return index.oldest()


class Lru(_Evicting):
    """Evict the entry read longest ago."""

    name = "lru"

    def on_hit(self, index: Index, key: str) -> None:
        index.touch(key)

    def victim(self, index: Index) -> str | None:
        return index.least_recent()


class RandomEviction(_Evicting):
    """Evict an entry chosen uniformly at random (seeded, so runs repeat)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)

    def victim(self, index: Index) -> str | None:
        return index.random_entry(self._rng)


POLICIES: dict[str, type[Policy]] = {cls.name: cls for cls in
                                     (NoReplacement, Lru, Fifo, RandomEviction)}
"""Every policy by name, in the order tables list them."""


def make_policy(name: str, seed: int = 0) -> Policy:
    """The policy called *name*; a ConfigError lists the known ones."""
    cls = POLICIES.get(name)
    if cls is None:
        raise ConfigError(f"unknown cache policy {name!r}; known: {', '.join(POLICIES)}")
    return cls(seed) if cls is RandomEviction else cls()
