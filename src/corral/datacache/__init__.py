"""A read-through, byte-bounded cache of training data in front of slow shared storage.

Policies (:mod:`.policies`: ``nr``, ``lru``, ``fifo``, ``random``) decide what stays; an
index (:mod:`.index`, or the cross-process :mod:`.ledger`) accounts for it; tiers
(:mod:`.tiers`) hold the bytes in memory or in a local directory; stores (:mod:`.stores`,
:mod:`.s3_store`) are where the data really lives. :mod:`.mount` serves it all as a FUSE file
system, :mod:`.simulate` predicts hit ratios without data, and :mod:`.torch_dataset` wraps a
cache as a PyTorch-style dataset.
"""

from corral.datacache.cache import DataCache, open_cache
from corral.datacache.policies import POLICIES, Policy, make_policy
from corral.datacache.stats import EpochStats
from corral.datacache.stores import DirectoryStore, FileInfo, Store, open_store

__all__ = [
    "POLICIES",
    "DataCache",
    "DirectoryStore",
    "EpochStats",
    "FileInfo",
    "Policy",
    "Store",
    "make_policy",
    "open_cache",
    "open_store",
]
