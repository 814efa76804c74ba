"""The read-through cache: files from a slow store, kept in a fast tier under a policy.

``open(info)`` opens a hit in the tier; on a miss it copies the file from the store into a
staged entry, chunk by chunk, keeps it if the policy makes room, and opens what it copied. A
reader reads ranges of what it opened, so an open file costs one chunk of memory, never the
whole file. A file the store cannot read is that read's ``OSError`` and nothing is cached.

The cache never fails a read because it cannot write: when the cache disk is full (the entry's
file, or the ledger's "database or disk is full"), the read is served from the store, the
failure counted (:attr:`DataCache.write_failures`) and logged once, and the cache turns into a
pass-through that stops copying files. Nothing half-written is ever served: a staged entry is
dropped, and an entry whose ledger change was rolled back is removed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from corral.datacache.index import Index
from corral.datacache.open_files import OpenFile, read_all
from corral.datacache.policies import Policy, make_policy
from corral.datacache.stats import EpochStats
from corral.datacache.stores import FileInfo, Store
from corral.datacache.tiers import DirectoryTier, MemoryTier, Staged, Tier, is_disk_full
from corral.model import ConfigError

log = logging.getLogger(__name__)

TIERS = ("disk", "memory")

CHUNK = 1 << 20
"""Bytes copied from the store per step on a miss: the memory one open costs."""

T = TypeVar("T")


class DataCache:
    """Reads files of one dataset from *store* through *tier* under *policy*."""

    def __init__(self, store: Store, tier: Tier, policy: Policy, dataset: str) -> None:
        self.store = store
        self.tier = tier
        self.policy = policy
        self.dataset = dataset
        self.pass_through = False
        """Set once the cache disk was found full: files are then read from the store, and
        no longer copied into the cache."""
        self.write_failures = 0
        """Writes of the cache (entries, ledger) that failed for want of room."""

    def open(self, info: FileInfo) -> OpenFile:
        """*info*'s file opened for reading by range: the cached copy when the cache holds
        this version, else a copy just made (kept if the policy makes room), else the store's
        file itself. The caller closes it."""
        key = f"{self.dataset}/{info.path}"
        seen = self.tier.version_of(key)
        if seen == info.version:
            entry = self.tier.open_entry(key, info.size)
            if entry is not None:
                try:
                    self._change_index(lambda index: self._count_hit(index, key, info.size))
                except BaseException:
                    entry.close()
                    raise
                return entry
        return self._fetch(key, info, seen)

    def read(self, info: FileInfo) -> bytes:
        """The whole content of *info*'s file (see :meth:`open`)."""
        file = self.open(info)
        try:
            return read_all(file, CHUNK)
        finally:
            file.close()

    def stats(self) -> list[EpochStats]:
        """Hits and misses per dataset and epoch (every dataset sharing the tier)."""
        return self.tier.reader_index().stats()

    def used(self) -> int:
        """Bytes cached now."""
        return self.tier.reader_index().used()

    def set_dataset_bytes(self, size: int) -> None:
        """Record this dataset's whole size in the index (skipped when the disk is full)."""
        try:
            self.tier.reader_index().set_dataset_bytes(self.dataset, size)  # its own transaction
        except (OSError, sqlite3.Error) as exc:
            self._cannot_write(exc)

    def _count_hit(self, index: Index, key: str, size: int) -> None:
        self.policy.on_hit(index, key)
        index.count(self.dataset, key, True, size)

    def _fetch(self, key: str, info: FileInfo, seen: str | None) -> OpenFile:
        """A miss: copy the store's file into a staged entry (unless the cache is a
        pass-through or the file could never fit), then record it."""
        source = self.store.open(info.path)
        staged = None
        try:
            if not self.pass_through and info.size <= self.tier.reader_index().capacity:
                staged = self._copy(key, source)
        except BaseException:
            source.close()
            raise
        if staged is None:
            self._change_index(lambda index: self._record_miss(index, key, info, seen, None))
            return source
        source.close()
        contents = staged.contents()
        renamed: list[bool] = []
        try:
            committed = self._change_index(
                lambda index: self._record_miss(index, key, info, seen, staged, renamed))
        except BaseException:
            contents.close()
            self.tier.discard(staged)
            if renamed:
                self.tier.drop(key)
            raise
        if committed is None and renamed:
            self.tier.drop(key)  # renamed into place, but the ledger change was rolled back
        if not committed:
            self.tier.discard(staged)  # its contents stay readable until closed
        return contents

    def _copy(self, key: str, source: OpenFile) -> Staged | None:
        """*source* copied into a new staged entry; None when the cache disk is full (the
        copy is dropped). Errors reading the source are raised."""
        try:
            staged = self.tier.stage(key)
        except OSError as exc:
            self._cannot_write(exc)
            return None
        try:
            for chunk in source.chunks(CHUNK):
                try:
                    staged.write(chunk)
                except OSError as exc:
                    self._cannot_write(exc)
                    break
            else:
                return staged
        except BaseException:
            staged.contents().close()
            self.tier.discard(staged)
            raise
        staged.contents().close()
        self.tier.discard(staged)
        return None

    def _record_miss(self, index: Index, key: str, info: FileInfo, seen: str | None,
                     staged: Staged | None, renamed: list[bool] | None = None) -> bool:
        """Count the miss, and commit *staged* if the policy makes room for it; True when it
        was committed (and *renamed* appended to, so a rolled-back transaction can undo it).
        An entry of another version (the dataset changed), or the *seen* one that could not be
        opened (missing or truncated), is dropped first."""
        index.count(self.dataset, key, False, info.size if staged is None else staged.size)
        version = index.version_of(key)
        if version is not None and (version != info.version or seen == info.version):
            index.evict(key)
            version = None
        if staged is None or version is not None or not self.policy.make_room(index,
                                                                                staged.size):
            return False
        self.tier.commit(staged, key)
        if renamed is not None:
            renamed.append(True)
        index.add(key, self.dataset, info.version, staged.size)
        return True

    def _change_index(self, change: Callable[[Index], T]) -> T | None:
        """Run *change* in one index transaction; None when the disk is full (the change is
        rolled back and, if it committed an entry, the entry's bytes are removed)."""
        try:
            with self.tier.locked() as index:
                return change(index)
        except (OSError, sqlite3.Error) as exc:
            if not is_disk_full(exc):
                raise
            self._cannot_write(exc)
            return None

    def _cannot_write(self, exc: BaseException) -> None:
        """Count a write the cache disk had no room for, and turn into a pass-through."""
        if not is_disk_full(exc):
            raise exc
        self.write_failures += 1
        if not self.pass_through:
            self.pass_through = True
            log.warning("cache disk full (%s): reading through from the source without "
                        "caching", exc)
        else:
            log.debug("cache disk still full (%s): %d writes failed", exc, self.write_failures)


def open_cache(store: Store, capacity: int, policy: str, dataset: str,
               cache_dir: str | Path | None = None, tier: str = "disk",
               seed: int = 0) -> DataCache:
    """A cache over *store*: a directory tier in *cache_dir* (shared by every process that
    opens it with the same size and policy), or a private memory tier. A cache directory that
    cannot even be set up for want of room gives a pass-through with an empty memory tier."""
    if capacity < 0:
        raise ConfigError("the cache size must be >= 0")
    if tier not in TIERS:
        raise ConfigError(f"unknown cache tier {tier!r}; known: {', '.join(TIERS)}")
    chosen = make_policy(policy, seed)
    if tier == "memory":
        return DataCache(store, MemoryTier(capacity), chosen, dataset)
    if cache_dir is None:
        raise ConfigError("a disk tier needs a cache directory (--cache-dir)")
    try:
        return DataCache(store, DirectoryTier(cache_dir, capacity, policy), chosen, dataset)
    except (OSError, sqlite3.Error) as exc:
        if not is_disk_full(exc):
            raise
        cache = DataCache(store, MemoryTier(0), chosen, dataset)
        cache._cannot_write(exc)
        return cache
