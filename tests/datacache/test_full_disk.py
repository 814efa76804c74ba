"""A cache directory on a small file system that fills up: every read is still served.

The file system is a tmpfs of a few MiB mounted for the test (root and mount(8) needed, as in
CI); where that is not possible the test skips, and test_cache.py's injected failures cover the
same paths.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from corral.datacache import DirectoryStore, open_cache
from corral.datacache.mount import fuse_unavailable
from corral.datacache.report import STATS_FILE

FILES = 42
SIZE = 64 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs at ``tmp_path/small``."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> None:
    """Write a file until the disk has no byte left."""
    with open(disk / "filler", "wb", buffering=0) as out:
        for block in (1 << 16, 4096, 1):
            try:
                while True:
                    out.write(b"\0" * block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC


def test_a_full_cache_disk_serves_every_read_from_the_source(
        tmp_path: Path, small_disk: Path, make_dataset: Callable[..., dict[str, bytes]]) -> None:
    content = make_dataset(tmp_path / "source", files=FILES, size=SIZE)
    store = DirectoryStore(tmp_path / "source")
    cache = open_cache(store, 2 << 20, "lru", "imgs", small_disk / "cache")
    files = sorted(store.list(), key=lambda info: info.path)
    for info in files[:4]:
        cache.read(info)  # some entries, before the disk fills
    fill(small_disk)
    for _ in range(2):
        for info in files:
            assert cache.read(info) == content[info.path]
    assert cache.pass_through and cache.write_failures > 0

    again = open_cache(store, 2 << 20, "lru", "imgs", small_disk / "cache")  # disk still full
    for info in files:
        assert again.read(info) == content[info.path]
    fresh = open_cache(store, 2 << 20, "lru", "imgs", small_disk / "other")  # cannot set up
    assert fresh.pass_through
    for info in files:
        assert fresh.read(info) == content[info.path]

    (small_disk / "filler").unlink()
    healthy = open_cache(store, 2 << 20, "lru", "imgs", small_disk / "cache")
    for info in files:
        assert healthy.read(info) == content[info.path]
    on_disk = sum(p.stat().st_size for p in (small_disk / "cache" / "data").glob("*/*"))
    assert on_disk == healthy.used() > 0  # nothing half-written or unaccounted was left


@pytest.mark.skipif(bool(fuse_unavailable() or not shutil.which("fusermount3")),
                    reason="FUSE unavailable here")
def test_a_full_cache_disk_under_a_mount(tmp_path: Path, small_disk: Path,
                                         make_dataset: Callable[..., dict[str, bytes]]) -> None:
    content = make_dataset(tmp_path / "source", files=FILES, size=SIZE)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "corral", "cache", "mount", str(tmp_path / "source"), str(mnt),
         "--cache-dir", str(small_disk / "cache"), "--size", "2M", "--policy", "lru",
         "--dataset", "imgs"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.ismount(mnt):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mount did not come up: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
        paths = sorted(content)
        for path in paths[:4]:
            (mnt / path).read_bytes()
        fill(small_disk)
        for _ in range(2):
            for path in paths:
                assert (mnt / path).read_bytes() == content[path]
        report = json.loads((mnt / STATS_FILE).read_text())
        assert report["pass_through"] and report["write_failures"] > 0
        assert sum(e["hits"] + e["misses"] for e in report["epochs"]) >= 4
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], check=False, capture_output=True)
        proc.wait(30)
    assert "cache disk full" in (proc.stderr.read() if proc.stderr else "")
