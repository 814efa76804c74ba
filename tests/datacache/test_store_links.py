"""A directory store never reads outside its root, even while a folder is swapped for a link."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from corral.datacache import DirectoryStore

READS = 20_000


def test_a_folder_swapped_for_a_link_mid_read_never_leaks_outside(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "f.bin").write_bytes(b"inside" * 10)
    (outside / "f.bin").write_bytes(b"SECRET" * 10)
    store = DirectoryStore(root)
    stop = threading.Event()
    swaps = 0

    def swapper() -> None:
        nonlocal swaps
        while not stop.is_set():
            os.rename(root / "sub", root / "real")
            os.symlink(outside, root / "sub")
            os.unlink(root / "sub")
            os.rename(root / "real", root / "sub")
            swaps += 1

    thread = threading.Thread(target=swapper)
    thread.start()
    leaked = served = 0
    try:
        for _ in range(READS):
            try:
                data = store.read("sub/f.bin")
            except OSError:
                continue  # the folder is missing or a link at that instant: no bytes at all
            served += 1
            leaked += data != b"inside" * 10
    finally:
        stop.set()
        thread.join()
    assert swaps > 100 and served > 0
    assert leaked == 0


def test_links_are_not_listed_and_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_bytes(b"SECRET")
    (root / "a.bin").write_bytes(b"a")
    (root / "link.bin").symlink_to(tmp_path / "secret")
    (root / "dir").symlink_to(tmp_path)
    store = DirectoryStore(root)
    assert [info.path for info in store.list()] == ["a.bin"]
    for path in ("link.bin", "dir/secret", "../secret", "./a.bin", "a.bin/"):
        with pytest.raises(OSError):
            store.read(path)
    assert store.read("a.bin") == b"a"
