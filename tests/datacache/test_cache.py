"""The read-through cache on a directory store: hits, bounds, bad input and faults."""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path

import pytest

from corral.datacache import DirectoryStore, open_cache
from corral.datacache.ledger import Ledger
from corral.datacache.stores import FileInfo
from corral.datacache.tiers import DirectoryTier, Staged
from corral.model import ConfigError


def infos(store: DirectoryStore) -> dict[str, FileInfo]:
    return {info.path: info for info in store.list()}


@pytest.mark.parametrize("tier", ["disk", "memory"])
def test_second_epoch_hits_what_nr_kept(dataset, tmp_path: Path, tier: str) -> None:
    root, content = dataset
    store = DirectoryStore(root)
    cache = open_cache(store, 10_000, "nr", "imgs", tmp_path / "cache", tier)
    files = infos(store)
    for _ in range(3):
        for path in sorted(files):
            assert cache.read(files[path]) == content[path]
    epochs = cache.stats()
    assert [(e.epoch, e.hits, e.misses) for e in epochs] == [(1, 0, 30), (2, 10, 20), (3, 10, 20)]
    assert epochs[1].byte_hit_ratio == pytest.approx(1 / 3)
    assert cache.used() == 10_000


def test_bound_holds_and_files_match_the_ledger(dataset, tmp_path: Path) -> None:
    root, _ = dataset
    store = DirectoryStore(root)
    cache = open_cache(store, 4_500, "lru", "imgs", tmp_path / "cache")
    for info in list(store.list()) * 2:
        cache.read(info)
    on_disk = sum(p.stat().st_size for p in (tmp_path / "cache" / "data").glob("*/*"))
    assert on_disk == cache.used() == 4_000


def test_a_missing_source_file_fails_that_read_only(dataset, tmp_path: Path) -> None:
    root, content = dataset
    store = DirectoryStore(root)
    cache = open_cache(store, 10_000, "nr", "imgs", tmp_path / "cache")
    files = infos(store)
    (root / "val/0000.jpg").unlink()
    with pytest.raises(FileNotFoundError):
        cache.read(files["val/0000.jpg"])
    assert cache.read(files["train/0001.jpg"]) == content["train/0001.jpg"]
    assert cache.used() == 1000


def test_a_changed_file_is_refetched_and_its_old_bytes_freed(dataset, tmp_path: Path) -> None:
    root, _ = dataset
    store = DirectoryStore(root)
    cache = open_cache(store, 10_000, "nr", "imgs", tmp_path / "cache")
    cache.read(infos(store)["val/0000.jpg"])
    (root / "val/0000.jpg").write_bytes(b"new content")
    changed = infos(store)["val/0000.jpg"]
    assert cache.read(changed) == b"new content"
    assert cache.read(changed) == b"new content"
    assert cache.used() == len(b"new content")


def test_a_truncated_entry_is_never_served(dataset, tmp_path: Path) -> None:
    root, content = dataset
    store = DirectoryStore(root)
    cache = open_cache(store, 10_000, "nr", "imgs", tmp_path / "cache")
    info = infos(store)["val/0000.jpg"]
    cache.read(info)
    (entry,) = (tmp_path / "cache" / "data").glob("*/*")
    entry.write_bytes(content["val/0000.jpg"][:10])
    assert cache.read(info) == content["val/0000.jpg"]
    assert cache.read(info) == content["val/0000.jpg"]  # fetched again and cached whole
    assert entry.read_bytes() == content["val/0000.jpg"]


def test_a_full_disk_degrades_to_pass_through(dataset, tmp_path: Path, monkeypatch,
                                             caplog) -> None:
    root, content = dataset
    store = DirectoryStore(root)
    cache = open_cache(store, 10_000, "nr", "imgs", tmp_path / "cache")

    def full(key: str) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.tier, "stage", full)
    files = infos(store)
    with caplog.at_level(logging.WARNING):
        for path in sorted(files)[:3]:
            assert cache.read(files[path]) == content[path]
    assert cache.pass_through and cache.used() == 0
    assert sum("cache disk full" in r.message for r in caplog.records) == 1


@pytest.mark.parametrize("where", ["ledger", "entry", "both"])
def test_a_full_ledger_or_entry_write_never_fails_a_read(dataset, tmp_path: Path, monkeypatch,
                                                        where: str) -> None:
    """The ledger's own "database or disk is full", and ENOSPC half-way through an entry: every
    read is served from the source, nothing half-written is kept, the failures are counted."""
    root, content = dataset
    store = DirectoryStore(root)
    cache = open_cache(store, 10_000, "lru", "imgs", tmp_path / "cache")
    files = infos(store)
    warm = sorted(files)[:5]
    for path in warm:
        cache.read(files[path])
    if where in ("ledger", "both"):
        def full_ledger(*args: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")
        monkeypatch.setattr(Ledger, "count", full_ledger)
    if where in ("entry", "both"):
        real = DirectoryTier.stage

        def stage(tier: DirectoryTier, key: str) -> Staged:
            staged = real(tier, key)
            first = staged.write

            def write(chunk: bytes) -> None:
                first(chunk[:100])
                raise OSError(errno.ENOSPC, "No space left on device")
            staged.write = write  # type: ignore[method-assign]
            return staged
        monkeypatch.setattr(DirectoryTier, "stage", stage)
    for _ in range(2):
        for path in sorted(files):
            assert cache.read(files[path]) == content[path]
    assert cache.pass_through and cache.write_failures > 0
    monkeypatch.undo()
    reopened = open_cache(store, 10_000, "lru", "imgs", tmp_path / "cache")
    assert not list((tmp_path / "cache" / "tmp").iterdir())
    on_disk = sum(p.stat().st_size for p in (tmp_path / "cache" / "data").glob("*/*"))
    assert on_disk == reopened.used() >= 5_000
    for path in sorted(files):
        assert reopened.read(files[path]) == content[path]


def test_reopening_with_another_size_or_policy_is_refused(dataset, tmp_path: Path) -> None:
    store = DirectoryStore(dataset[0])
    open_cache(store, 10_000, "nr", "imgs", tmp_path / "cache")
    with pytest.raises(ConfigError, match="same size and policy"):
        open_cache(store, 20_000, "nr", "imgs", tmp_path / "cache")


def test_bad_input_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        DirectoryStore(tmp_path / "nope")
    store = DirectoryStore(tmp_path)
    with pytest.raises(ConfigError, match="unknown cache tier"):
        open_cache(store, 10, "nr", "d", tmp_path, "tape")
    with pytest.raises(ConfigError, match="needs a cache directory"):
        open_cache(store, 10, "nr", "d", None, "disk")
    with pytest.raises(PermissionError):
        store.read("../etc/passwd")
