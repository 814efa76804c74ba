"""Backing stores: where the cached files really live (a network file system, object storage).

A store lists files with a *version* (anything that changes when the content does: size and
mtime for a file system, the ETag for object storage) so that a cache can tell a changed file
from the one it holds, and opens one file for reading by range. Errors reading one file are
that file's ``OSError`` and nothing more.

A directory store never follows a symbolic link inside its root: each path is opened one
component at a time, relative to the folder opened before it, with ``O_NOFOLLOW``, so a link
swapped in for a folder while a read runs cannot take it outside the root (checking the path
and then opening it would leave that window open). Links and special files are left out of
its listing.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from corral.datacache.open_files import LocalFile, OpenFile, read_all
from corral.model import ConfigError

log = logging.getLogger(__name__)

_FOLDER = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
"""O_NONBLOCK: opening a FIFO planted in the source must not hang the reader."""


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file of a store: its path (``/``-separated, relative), size and version."""

    path: str
    size: int
    version: str


class Store(Protocol):
    """A read-only tree of files."""

    def list(self) -> Iterator[FileInfo]:
        """Every file, in no particular order."""
        ...

    def open(self, path: str) -> OpenFile:
        """*path* opened for reading by range; ``OSError`` when it cannot be opened."""
        ...

    def read(self, path: str) -> bytes:
        """The whole content of *path*; ``OSError`` when it cannot be read."""
        ...


class DirectoryStore:
    """Files under a local directory, typically an NFS or CephFS mount."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ConfigError(f"cache source {str(root)!r} is not a directory")

    def list(self) -> Iterator[FileInfo]:
        left_out = 0
        for folder, _, files in os.walk(self.root):
            for name in files:
                full = Path(folder, name)
                try:
                    st = full.lstat()
                except OSError:
                    continue  # vanished while listing: it is simply not part of the tree
                if not stat.S_ISREG(st.st_mode):
                    left_out += 1  # a link or a special file: never read (see the module)
                    continue
                yield FileInfo(full.relative_to(self.root).as_posix(), st.st_size,
                               f"{st.st_size}-{st.st_mtime_ns}")
        if left_out:
            log.warning("%s: %d symbolic links or special files left out (links are not "
                        "followed)", self.root, left_out)

    def open(self, path: str) -> OpenFile:
        parts = path.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise PermissionError(f"{path}: outside the store")
        folder = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts[:-1]:
                inner = os.open(part, _FOLDER, dir_fd=folder)
                os.close(folder)
                folder = inner
            fd = os.open(parts[-1], _FILE, dir_fd=folder)
        finally:
            os.close(folder)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise PermissionError(f"{path}: not a regular file")
        return LocalFile(fd)

    def read(self, path: str) -> bytes:
        file = self.open(path)
        try:
            return read_all(file)
        finally:
            file.close()


def open_store(source: str, endpoint_url: str | None = None) -> Store:
    """A store for *source*: ``s3://bucket/prefix`` or a directory."""
    if source.startswith("s3://"):
        from corral.datacache.s3_store import S3Store  # boto3 is an optional extra

        return S3Store.from_url(source, endpoint_url)
    return DirectoryStore(source)
