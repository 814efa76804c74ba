"""Several processes on one cache directory, and processes killed mid-way."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
from pathlib import Path

import pytest

from corral.datacache import DirectoryStore, open_cache
from corral.datacache.ledger import Ledger
from corral.datacache.tiers import DirectoryTier, Staged

CAPACITY = 9_500
READERS = 4
EPOCHS = 3


def _reader(root: str, cache_dir: str, policy: str, seed: int) -> None:
    """One data-loader worker: every file, each epoch in its own random order, checked."""
    store = DirectoryStore(root)
    cache = open_cache(store, CAPACITY, policy, "imgs", cache_dir)
    files = list(store.list())
    rng = random.Random(seed)
    for _ in range(EPOCHS):
        rng.shuffle(files)
        for info in files:
            if cache.read(info) != (Path(root) / info.path).read_bytes():
                os._exit(3)


@pytest.mark.parametrize("policy", ["nr", "lru", "random"])
def test_concurrent_readers_share_one_bound(dataset, tmp_path: Path, policy: str) -> None:
    root, content = dataset
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_reader, args=(str(root), str(tmp_path / "c"), policy, seed))
               for seed in range(READERS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0] * READERS
    ledger = Ledger(tmp_path / "c" / "ledger.sqlite")
    files = list((tmp_path / "c" / "data").glob("*/*"))
    on_disk = sum(p.stat().st_size for p in files)
    assert on_disk == ledger.used() <= CAPACITY  # nothing double-counted, bound kept
    with ledger.transaction():
        assert len(files) == len(ledger.entry_keys())
    assert sum(e.hits + e.misses for e in ledger.stats()) == READERS * EPOCHS * len(content)
    if policy == "nr":
        assert ledger.used() == 9_000


def _die_in(step: str, root: str, cache_dir: str) -> None:
    """Read one file and kill this process while the entry is being written (*step*)."""
    store = DirectoryStore(root)
    cache = open_cache(store, CAPACITY, "nr", "imgs", cache_dir)
    tier = cache.tier
    assert isinstance(tier, DirectoryTier)
    if step == "write":
        def stage(key: str) -> Staged:
            staged = DirectoryTier.stage(tier, key)
            real_write = staged.write

            def write(chunk: bytes) -> None:
                real_write(chunk[: len(chunk) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            staged.write = write  # type: ignore[method-assign]
            return staged
        tier.stage = stage  # type: ignore[method-assign]
    else:
        def commit(staged: Staged, key: str) -> None:
            DirectoryTier.commit(tier, staged, key)
            os.kill(os.getpid(), signal.SIGKILL)
        tier.commit = commit  # type: ignore[method-assign]
    cache.read(next(iter(store.list())))


@pytest.mark.parametrize("step", ["write", "rename"])
def test_a_killed_writer_leaves_nothing_that_is_served(dataset, tmp_path: Path,
                                                      step: str) -> None:
    root, content = dataset
    proc = multiprocessing.get_context("spawn").Process(
        target=_die_in, args=(step, str(root), str(tmp_path / "c")))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    leftovers = list((tmp_path / "c").glob("*/*"))
    assert leftovers  # a half-written temporary file, or a renamed but unrecorded entry
    store = DirectoryStore(root)
    cache = open_cache(store, CAPACITY, "nr", "imgs", tmp_path / "c")  # sweeps on open
    assert not list((tmp_path / "c" / "tmp").iterdir())
    assert not list((tmp_path / "c" / "data").glob("*/*"))
    assert cache.used() == 0
    for info in store.list():
        assert cache.read(info) == content[info.path]
