"""Trace-free cache simulation: hit ratio per epoch for each policy and cache size.

A dataset of files (sizes from a :class:`~corral.datacache.sizes.SizeDist`) is read whole,
once per epoch, in a fresh random order each epoch, through a cold cache of each size under
each policy: the access pattern of data-parallel training. The policies and the index are the
ones the real cache runs, so the simulation checks them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from corral.datacache.index import MemoryIndex
from corral.datacache.policies import POLICIES, make_policy
from corral.datacache.sizes import SizeDist
from corral.model import ConfigError

GIB = 1 << 30


@dataclass(frozen=True, slots=True)
class SimulatedRun:
    """One policy at one cache size: the byte hit ratio of each epoch (fractions)."""

    policy: str
    cache_gb: float
    hit_ratio_per_epoch: tuple[float, ...]

    def to_json(self) -> dict[str, object]:
        """The ``--json`` record."""
        return {"policy": self.policy, "cache_gb": self.cache_gb,
                "hit_ratio_per_epoch": list(self.hit_ratio_per_epoch)}


def simulate(dataset_gb: float, cache_gb: Sequence[float], epochs: int,
             sizes: SizeDist, policies: Sequence[str] = tuple(POLICIES), seed: int = 0,
             max_files: int = 50_000) -> list[SimulatedRun]:
    """Every policy at every cache size; the same file sizes and epoch orders for all."""
    if dataset_gb <= 0 or epochs < 1 or not cache_gb or min(cache_gb) < 0:
        raise ConfigError("cache simulate needs --dataset-gb > 0, --epochs >= 1 and cache "
                          "sizes >= 0")
    for name in policies:
        make_policy(name)
    rng = np.random.default_rng(seed)
    file_sizes = sizes.sample(round(dataset_gb * GIB), rng, max_files)
    orders = [rng.permutation(len(file_sizes)) for _ in range(epochs)]
    return [SimulatedRun(name, gb, _run(name, round(gb * GIB), file_sizes, orders, seed))
            for name in policies for gb in cache_gb]


def _run(policy_name: str, capacity: int, file_sizes: np.ndarray,
         orders: list[np.ndarray], seed: int) -> tuple[float, ...]:
    policy = make_policy(policy_name, seed)
    index = MemoryIndex(capacity)
    sizes = file_sizes.tolist()
    total = float(file_sizes.sum())
    on_hit, make_room, add = policy.on_hit, policy.make_room, index.add
    ratios = []
    for order in orders:
        hit_bytes = 0
        for key in order.tolist():
            size = sizes[key]
            if key in index:
                hit_bytes += size
                on_hit(index, key)
            elif make_room(index, size):
                add(key, "", "", size)
        ratios.append(hit_bytes / total)
    return tuple(ratios)
