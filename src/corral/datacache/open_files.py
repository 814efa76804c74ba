"""Open files read by range, so a reader holds one chunk at a time, never a whole file.

A cache entry, a staged copy and a source file all answer ``read_at(offset, size)`` (a
``pread``, or a ranged GET for object storage) and ``chunks(size)`` (the whole file, front to
back, one chunk at a time); the caller closes what it opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol


class OpenFile(Protocol):
    """One open file, read by range."""

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to *size* bytes from *offset* (fewer only at the end of the file)."""
        ...

    def chunks(self, size: int) -> Iterator[bytes]:
        """The whole file from its start, in chunks of at most *size* bytes."""
        ...

    def close(self) -> None:
        """Release the file (idempotent)."""
        ...


class LocalFile:
    """A file descriptor, read with ``pread`` (threads may read one file at once)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read_at(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, offset)

    def chunks(self, size: int) -> Iterator[bytes]:
        offset = 0
        while chunk := os.pread(self.fd, size, offset):
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


class BytesFile:
    """Bytes already in memory (a memory-tier entry, the statistics document)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def read_at(self, offset: int, size: int) -> bytes:
        return bytes(self._data[offset:offset + size])

    def chunks(self, size: int) -> Iterator[bytes]:
        for offset in range(0, len(self._data), size):
            yield bytes(self._data[offset:offset + size])

    def close(self) -> None:
        """Nothing to release: the bytes belong to their owner."""


def read_all(file: OpenFile, chunk: int = 1 << 20) -> bytes:
    """The whole content of *file* (for callers that want bytes, e.g. a dataset item)."""
    return b"".join(file.chunks(chunk))
