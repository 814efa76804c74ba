"""Backing stores: where the cached files really live (a network file system, object storage).

A store lists files with a *version* (anything that changes when the content does: size and
mtime for a file system, the ETag for object storage) so that a cache can tell a changed file
from the one it holds. Errors reading one file are that file's ``OSError`` and nothing more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from corral.model import ConfigError


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
        for folder, _, files in os.walk(self.root):
            for name in files:
                full = Path(folder, name)
                try:
                    st = full.stat()
                except OSError:
                    continue  # vanished while listing: it is simply not part of the tree
                yield FileInfo(full.relative_to(self.root).as_posix(), st.st_size,
                               f"{st.st_size}-{st.st_mtime_ns}")

    def read(self, path: str) -> bytes:
        full = (self.root / path).resolve()
        if not full.is_relative_to(self.root.resolve()):
            raise PermissionError(f"{path}: outside the store")
        return full.read_bytes()


def open_store(source: str, endpoint_url: str | None = None) -> Store:
    """A store for *source*: ``s3://bucket/prefix`` or a directory."""
    if source.startswith("s3://"):
        from corral.datacache.s3_store import S3Store  # boto3 is an optional extra

        return S3Store.from_url(source, endpoint_url)
    return DirectoryStore(source)
