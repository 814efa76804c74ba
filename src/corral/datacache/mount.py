"""The cache as a read-only FUSE file system, so any framework reads through it unchanged.

The tree is listed from the store once, at mount time (datasets are read-only while a job
trains on them); a file's version from that listing decides whether a cached copy is still
good, so remounting after the dataset changed refreshes exactly the files that changed. Each
``open`` reads the whole file through the cache (samples are small: one cache read per sample
read), and ``read`` serves slices of it. ``/.corral-cache-stats.json`` holds the live
statistics. Uses mfusepy (libfuse 3 or 2), from the optional extra ``corral[datacache]``.
"""

from __future__ import annotations

import errno
import itertools
import json
import stat
import threading
from pathlib import Path
from typing import Any

from corral.datacache.cache import DataCache
from corral.datacache.report import STATS_FILE, cache_report
from corral.datacache.stores import FileInfo
from corral.model import ConfigError

try:
    import mfusepy as fuse
except (ImportError, OSError) as _missing:  # no package, or no libfuse on this machine
    fuse = None
    _WHY = str(_missing)
else:
    _WHY = ""

_Operations: type = fuse.Operations if fuse is not None else object


def fuse_unavailable() -> str:
    """Why a mount cannot work here ('' when it can): no mfusepy, no libfuse, no /dev/fuse."""
    if fuse is None:
        return f"FUSE bindings unavailable ({_WHY}); pip install 'corral[datacache]' and libfuse3"
    if not Path("/dev/fuse").exists():
        return "/dev/fuse does not exist (no FUSE in this kernel or container)"
    return ""


class CacheFs(_Operations):
    """FUSE operations over a :class:`DataCache` (the mfusepy ``Operations`` interface)."""

    use_ns = True

    def __init__(self, cache: DataCache) -> None:
        self.cache = cache
        self.files: dict[str, FileInfo] = {}
        self.dirs: dict[str, set[str]] = {"/": set()}
        for info in cache.store.list():
            self._add(info)
        cache.tier.reader_index().set_dataset_bytes(
            cache.dataset, sum(info.size for info in self.files.values()))
        self._open: dict[int, bytes] = {}
        self._handles = itertools.count(1)
        self._lock = threading.Lock()

    def _add(self, info: FileInfo) -> None:
        path = "/" + info.path
        self.files[path] = info
        parent, _, name = path.rpartition("/")
        while True:
            self.dirs.setdefault(parent or "/", set()).add(name)
            if not parent:
                return
            parent, _, name = parent.rpartition("/")

    def stats_document(self) -> dict[str, object]:
        """The live statistics."""
        return cache_report(self.cache.tier.reader_index(), self.cache.policy.name,
                            self.cache.pass_through)

    # -- FUSE operations -------------------------------------------------------------
    def getattr(self, path: str, fh: Any = None) -> dict[str, int]:
        if path in self.dirs:
            return {"st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2}
        if path == "/" + STATS_FILE:
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": 0}
        info = self.files.get(path)
        if info is None:
            raise fuse.FuseOSError(errno.ENOENT)
        return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": info.size}

    def readdir(self, path: str, fh: Any) -> list[str]:
        names = sorted(self.dirs.get(path, ()))
        return [".", "..", *names, *([STATS_FILE] if path == "/" else [])]

    def open(self, path: str, fi: Any) -> int:
        if fi.flags & 3 != 0:  # O_WRONLY or O_RDWR
            raise fuse.FuseOSError(errno.EROFS)
        if path == "/" + STATS_FILE:
            data = json.dumps(self.stats_document(), indent=1).encode()
            fi.direct_io = 1  # its size is unknown up front: read until the end
        else:
            info = self.files.get(path)
            if info is None:
                raise fuse.FuseOSError(errno.ENOENT)
            try:
                data = self.cache.read(info)
            except OSError as exc:
                raise fuse.FuseOSError(exc.errno or errno.EIO) from None
        with self._lock:
            fi.fh = next(self._handles)
            self._open[fi.fh] = data
        return 0

    def read(self, path: str, size: int, offset: int, fi: Any) -> bytes:
        return self._open[fi.fh][offset:offset + size]

    def release(self, path: str, fi: Any) -> int:
        with self._lock:
            self._open.pop(fi.fh, None)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        return {"f_bsize": 4096, "f_frsize": 4096, "f_namemax": 255,
                "f_blocks": sum(i.size for i in self.files.values()) // 4096, "f_files":
                len(self.files)}


def mount(cache: DataCache, mountpoint: str | Path, *, foreground: bool = True) -> None:
    """Serve *cache* read-only at *mountpoint* until unmounted (``fusermount3 -u``)."""
    why = fuse_unavailable()
    if why:
        raise ConfigError(f"cannot mount: {why}")
    if not Path(mountpoint).is_dir():
        raise ConfigError(f"mount point {str(mountpoint)!r} is not a directory")
    fuse.FUSE(CacheFs(cache), str(mountpoint), foreground=foreground, ro=True, raw_fi=True,
              fsname="corral-cache", default_permissions=True, allow_other=False)
