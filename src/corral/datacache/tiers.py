"""Where cached bytes live: this process's memory, or a local directory (node-local SSD).

A directory tier writes each new entry to a temporary name and renames it into place, so a
process killed mid-write leaves at worst a temporary file, which is never served and is swept
away the next time a cache opens the directory; an entry whose length does not match the
ledger is treated as missing, never served. Entries are opened, not loaded: a reader holds a
file descriptor and reads ranges of it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from corral.datacache.index import Index, MemoryIndex
from corral.datacache.ledger import Ledger
from corral.datacache.open_files import BytesFile, LocalFile, OpenFile


class Staged(Protocol):
    """A new entry being written, not yet visible under its key."""

    size: int
    """Bytes written so far."""

    def write(self, chunk: bytes) -> None:
        """Append *chunk*; raises OSError (disk full)."""
        ...

    def contents(self) -> OpenFile:
        """What was written, to read back; stays readable after commit or discard, until the
        caller closes it."""
        ...


class Tier(Protocol):
    """Bytes by key, with the :class:`Index` that accounts for them."""

    def locked(self) -> AbstractContextManager[Index]:
        """The index, held exclusively (across processes where it is shared) for the block."""
        ...

    def version_of(self, key: str) -> str | None:
        """The cached version of *key*, or None (a quick look, without the lock)."""
        ...

    def open_entry(self, key: str, size: int) -> OpenFile | None:
        """The cached entry of *key*, opened, when it is there and *size* long, else None."""
        ...

    def stage(self, key: str) -> Staged:
        """Start a new entry for :meth:`commit`, written outside the lock; raises OSError
        (disk full)."""
        ...

    def commit(self, staged: Staged, key: str) -> None:
        """Make a staged entry visible under *key* (inside the lock, after make_room)."""
        ...

    def discard(self, staged: Staged) -> None:
        """Drop a staged entry that was not committed."""
        ...

    def drop(self, key: str) -> None:
        """Remove *key*'s bytes whatever the index says (after a commit whose index change
        was rolled back)."""
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

    def open_entry(self, key: str, size: int) -> OpenFile | None:
        data = self._data.get(key)
        return BytesFile(data) if data is not None and len(data) == size else None

    def stage(self, key: str) -> Staged:
        return _MemoryEntry()

    def commit(self, staged: Staged, key: str) -> None:
        assert isinstance(staged, _MemoryEntry)
        self._data[key] = staged.data()

    def discard(self, staged: Staged) -> None:
        """Nothing to undo: the bytes were never stored."""

    def drop(self, key: str) -> None:
        self._data.pop(key, None)

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

    def open_entry(self, key: str, size: int) -> OpenFile | None:
        try:
            fd = os.open(self._file(key), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        if os.fstat(fd).st_size != size:
            os.close(fd)
            return None
        return LocalFile(fd)

    def stage(self, key: str) -> Staged:
        return _TempEntry(self._tmp)

    def commit(self, staged: Staged, key: str) -> None:
        assert isinstance(staged, _TempEntry)
        target = self._file(key)
        target.parent.mkdir(exist_ok=True)
        os.replace(staged.name, target)

    def discard(self, staged: Staged) -> None:
        assert isinstance(staged, _TempEntry)
        Path(staged.name).unlink(missing_ok=True)

    def drop(self, key: str) -> None:
        self._unlink(key)

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


class _MemoryEntry:
    """A staged memory-tier entry: the chunks written so far."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.size = 0
        self._joined: bytes | None = None

    def write(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self.size += len(chunk)

    def data(self) -> bytes:
        if self._joined is None:
            self._joined = b"".join(self._chunks)
            self._chunks = [self._joined]
        return self._joined

    def contents(self) -> OpenFile:
        return BytesFile(self.data())


class _TempEntry:
    """A staged directory-tier entry: a temporary file named after this process (so sweeps
    can tell live ones), open for writing and reading back."""

    def __init__(self, folder: Path) -> None:
        self.name = str(folder / f"{os.getpid()}-{os.urandom(6).hex()}")
        self._file = LocalFile(os.open(self.name, os.O_RDWR | os.O_CREAT | os.O_EXCL
                                       | os.O_CLOEXEC, 0o644))
        self.size = 0

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            written = os.write(self._file.fd, view)
            view = view[written:]
            self.size += written

    def contents(self) -> OpenFile:
        return self._file


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_disk_full(exc: BaseException) -> bool:
    """True for the errors that mean the cache disk has no room left: the file system's, and
    SQLite's (the ledger) "database or disk is full"."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == sqlite3.SQLITE_FULL) \
            or "database or disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
