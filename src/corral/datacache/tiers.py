"""Where cached bytes live: this process's memory, or a local directory (node-local SSD).

A directory tier writes each new entry to a temporary name and renames it into place, so a
process killed mid-write leaves at worst a temporary file, which is never served and is swept
away the next time a cache opens the directory; an entry whose length does not match the
ledger is treated as missing, never served.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from corral.datacache.index import Index, MemoryIndex
from corral.datacache.ledger import Ledger


class Tier(Protocol):
    """Bytes by key, with the :class:`Index` that accounts for them."""

    def locked(self) -> AbstractContextManager[Index]:
        """The index, held exclusively (across processes where it is shared) for the block."""
        ...

    def version_of(self, key: str) -> str | None:
        """The cached version of *key*, or None (a quick look, without the lock)."""
        ...

    def load(self, key: str, size: int) -> bytes | None:
        """The cached bytes of *key* when they are there and *size* long, else None."""
        ...

    def stage(self, key: str, data: bytes) -> object:
        """Prepare *data* for :meth:`commit` outside the lock; raises OSError (disk full)."""
        ...

    def commit(self, staged: object, key: str) -> None:
        """Make a staged entry visible under *key* (inside the lock, after make_room)."""
        ...

    def discard(self, staged: object) -> None:
        """Drop a staged entry that was not committed."""
        ...

    def reader_index(self) -> Index:
        """The index for statistics, read without the lock."""
        ...


class MemoryTier:
    """Entries as bytes in a dict, for one process (its index is private too)."""

    def __init__(self, capacity: int) -> None:
        self._data: dict[str, bytes] = {}
        self._index = MemoryIndex(capacity, on_evict=self._data.__delitem__)
        self._lock = threading.Lock()

    @contextmanager
    def locked(self) -> Iterator[Index]:
        with self._lock:
            yield self._index

    def version_of(self, key: str) -> str | None:
        return self._index.version_of(key)

    def load(self, key: str, size: int) -> bytes | None:
        data = self._data.get(key)
        return data if data is not None and len(data) == size else None

    def stage(self, key: str, data: bytes) -> object:
        return data

    def commit(self, staged: object, key: str) -> None:
        assert isinstance(staged, bytes)
        self._data[key] = staged

    def discard(self, staged: object) -> None:
        """Nothing to undo: the bytes were never stored."""

    def reader_index(self) -> Index:
        return self._index


class DirectoryTier:
    """Entries as files under ``DIR/data``, accounted in ``DIR/ledger.sqlite``."""

    def __init__(self, root: str | Path, capacity: int, policy: str) -> None:
        self.root = Path(root)
        self._data = self.root / "data"
        self._tmp = self.root / "tmp"
        self._data.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(exist_ok=True)
        self.ledger = Ledger(self.root / "ledger.sqlite", capacity, policy,
                             on_evict=self._unlink)
        self._sweep()

    def locked(self) -> AbstractContextManager[Index]:
        return self.ledger.transaction()

    def version_of(self, key: str) -> str | None:
        return self.ledger.version_of(key)

    def load(self, key: str, size: int) -> bytes | None:
        try:
            data = self._file(key).read_bytes()
        except FileNotFoundError:
            return None
        return data if len(data) == size else None

    def stage(self, key: str, data: bytes) -> object:
        fd, name = _temp_file(self._tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        except OSError:
            Path(name).unlink(missing_ok=True)
            raise
        return name

    def commit(self, staged: object, key: str) -> None:
        target = self._file(key)
        target.parent.mkdir(exist_ok=True)
        os.replace(str(staged), target)

    def discard(self, staged: object) -> None:
        Path(str(staged)).unlink(missing_ok=True)

    def reader_index(self) -> Index:
        return self.ledger

    def _file(self, key: str) -> Path:
        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()
        return self._data / digest[:2] / digest

    def _unlink(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

    def _sweep(self) -> None:
        """Remove what a killed process left: temporary files of dead processes, and files
        the ledger does not list (renamed in, but the transaction never committed). Runs
        under the ledger's lock, which every commit also holds, so it races with nothing."""
        with self.ledger.transaction():
            for temp in self._tmp.iterdir():
                pid = temp.name.split("-", 1)[0]
                if not (pid.isdigit() and _alive(int(pid))):
                    temp.unlink(missing_ok=True)
            listed = {self._file(key) for key in self.ledger.entry_keys()}
            for path in self._data.glob("*/*"):
                if path not in listed:
                    path.unlink(missing_ok=True)


def _temp_file(folder: Path) -> tuple[int, str]:
    """A new temporary file named after this process, so sweeps can tell live ones."""
    name = folder / f"{os.getpid()}-{os.urandom(6).hex()}"
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), str(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_disk_full(exc: OSError) -> bool:
    """True for the errors that mean the cache disk has no room left."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)
