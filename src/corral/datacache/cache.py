"""The read-through cache: files from a slow store, kept in a fast tier under a policy.

``read(info)`` serves a hit from the tier; on a miss it reads the store, returns the bytes,
and keeps them if the policy makes room. A file the store cannot read is that read's
``OSError`` and nothing is cached; a full cache disk turns the cache into a pass-through
(with one warning) instead of failing reads.
"""

from __future__ import annotations

import logging
from pathlib import Path

from corral.datacache.policies import Policy, make_policy
from corral.datacache.stats import EpochStats
from corral.datacache.stores import FileInfo, Store
from corral.datacache.tiers import DirectoryTier, MemoryTier, Tier, is_disk_full
from corral.model import ConfigError

log = logging.getLogger(__name__)

TIERS = ("disk", "memory")


class DataCache:
    """Reads files of one dataset from *store* through *tier* under *policy*."""

    def __init__(self, store: Store, tier: Tier, policy: Policy, dataset: str) -> None:
        self.store = store
        self.tier = tier
        self.policy = policy
        self.dataset = dataset
        self.pass_through = False
        """Set once the cache disk was found full: reads then go straight to the store."""

    def read(self, info: FileInfo) -> bytes:
        """The content of *info*'s file, from the cache when it holds this version."""
        key = f"{self.dataset}/{info.path}"
        seen = self.tier.version_of(key)
        if seen == info.version:
            data = self.tier.load(key, info.size)
            if data is not None:
                with self.tier.locked() as index:
                    self.policy.on_hit(index, key)
                    index.count(self.dataset, key, True, info.size)
                return data
        data = self.store.read(info.path)
        self._keep(key, info, data, seen)
        return data

    def stats(self) -> list[EpochStats]:
        """Hits and misses per dataset and epoch (every dataset sharing the tier)."""
        return self.tier.reader_index().stats()

    def used(self) -> int:
        """Bytes cached now."""
        return self.tier.reader_index().used()

    def _keep(self, key: str, info: FileInfo, data: bytes, seen: str | None) -> None:
        """Count the miss, and cache *data* if the policy makes room for it. An entry of
        another version (the dataset changed), or the *seen* one that could not be loaded
        (missing or truncated), is dropped first."""
        staged = None
        if not self.pass_through:
            try:
                staged = self.tier.stage(key, data)
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                self.pass_through = True
                log.warning("cache disk full (%s): reading through without caching", exc)
        with self.tier.locked() as index:
            index.count(self.dataset, key, False, len(data))
            version = index.version_of(key)
            if version is not None and (version != info.version or seen == info.version):
                index.evict(key)
                version = None
            if staged is not None and version is None and self.policy.make_room(index, len(data)):
                self.tier.commit(staged, key)
                index.add(key, self.dataset, info.version, len(data))
                staged = None
        if staged is not None:
            self.tier.discard(staged)


def open_cache(store: Store, capacity: int, policy: str, dataset: str,
               cache_dir: str | Path | None = None, tier: str = "disk",
               seed: int = 0) -> DataCache:
    """A cache over *store*: a directory tier in *cache_dir* (shared by every process that
    opens it with the same size and policy), or a private memory tier."""
    if capacity < 0:
        raise ConfigError("the cache size must be >= 0")
    if tier not in TIERS:
        raise ConfigError(f"unknown cache tier {tier!r}; known: {', '.join(TIERS)}")
    chosen = make_policy(policy, seed)
    if tier == "memory":
        return DataCache(store, MemoryTier(capacity), chosen, dataset)
    if cache_dir is None:
        raise ConfigError("a disk tier needs a cache directory (--cache-dir)")
    return DataCache(store, DirectoryTier(cache_dir, capacity, policy), chosen, dataset)
