"""An open file costs a bounded amount of memory, whatever the file's size (read by range)."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import pytest

from corral.datacache import DirectoryStore, open_cache
from corral.datacache.cache import CHUNK

BIG = 48 << 20
STEP = 64 << 10
BOUND = 4 * CHUNK
"""What reading the big file may cost at most: a few copy chunks, far below the file."""


@pytest.fixture
def big(tmp_path: Path) -> tuple[DirectoryStore, bytes]:
    root = tmp_path / "source"
    root.mkdir()
    data = os.urandom(1 << 20) * (BIG >> 20)
    (root / "big.bin").write_bytes(data)
    return DirectoryStore(root), data


def peak_reading(read_range, size: int) -> tuple[int, bool]:
    """Peak traced bytes while reading *size* bytes in STEP pieces, and whether they matched
    the file (compared by hash only, so the check itself holds no copy)."""
    import hashlib

    tracemalloc.start()
    try:
        digest = hashlib.sha256()
        for offset in range(0, size, STEP):
            digest.update(read_range(offset, STEP))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, digest.digest()


@pytest.mark.parametrize(("tier", "capacity"), [("disk", BIG * 2), ("disk", BIG // 2),
                                                 ("memory", BIG // 2)],
                         ids=["disk-kept", "disk-too-big", "memory-too-big"])
def test_reading_a_large_file_in_small_ranges_stays_bounded(big, tmp_path: Path, tier: str,
                                                            capacity: int) -> None:
    import hashlib

    store, data = big
    want = hashlib.sha256(data).digest()
    del data
    cache = open_cache(store, capacity, "lru", "d", tmp_path / "cache", tier)
    (info,) = store.list()
    for _ in range(2):  # a miss, then a hit where the file was kept
        tracemalloc.start()
        file = cache.open(info)
        _, opening = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        try:
            peak, got = peak_reading(file.read_at, info.size)
        finally:
            file.close()
        assert got == want
        assert max(opening, peak) < BOUND, (opening, peak)


def test_the_mount_reads_by_range(big, tmp_path: Path) -> None:
    mount = pytest.importorskip("corral.datacache.mount")
    if mount.fuse is None:
        pytest.skip(f"FUSE bindings unavailable: {mount.fuse_unavailable()}")
    import hashlib

    store, data = big
    want = hashlib.sha256(data).digest()
    del data
    fs = mount.CacheFs(open_cache(store, BIG * 2, "nr", "d", tmp_path / "cache"))
    for _ in range(3):
        fi = SimpleNamespace(flags=os.O_RDONLY, fh=0, direct_io=0)
        tracemalloc.start()
        fs.open("/big.bin", fi)
        _, opening = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        try:
            peak, got = peak_reading(lambda offset, size, fi=fi: fs.read("/big.bin", size,
                                                                         offset, fi), BIG)
        finally:
            fs.release("/big.bin", fi)
        assert got == want
        assert max(opening, peak) < BOUND, (opening, peak)
