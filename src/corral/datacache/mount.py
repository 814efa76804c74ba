"""The cache as a read-only FUSE file system, so any framework reads through it unchanged.

The tree is listed from the store once, at mount time (datasets are read-only while a job
trains on them); a file's version from that listing decides whether a cached copy is still
good, so remounting after the dataset changed refreshes exactly the files that changed. Each
``open`` opens the file through the cache (a miss copies it into the cache, chunk by chunk) and
each ``read`` reads that range of it, so memory stays bounded per open, whatever the file's
size. ``/.corral-cache-stats.json`` holds the live statistics, unless the source has a file of
that name: the source's file is served then, and the statistics are read from the cache
directory instead (``corral cache stats CACHE_DIR``).

Object keys that cannot be shown as paths (an empty, ``.`` or ``..`` part, as in ``a//b`` or
``a/../b``, a part too long for a file name, or a key that is also another key's folder) are
left out of the tree, counted and logged once; they never break a listing. A mount point whose
FUSE daemon died (``Transport endpoint is not connected``) is reported as such, with the
command that clears it. Uses mfusepy (libfuse 3 or 2), from the optional extra
``corral[datacache]``.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any

from corral.datacache.cache import DataCache
from corral.datacache.open_files import BytesFile, OpenFile
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

log = logging.getLogger(__name__)

NAME_MAX = 255
"""The longest file name (bytes) the kernel takes."""


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
        unshown = [info.path for info in cache.store.list() if not self._add(info)]
        for path in [path for path in self.files if path in self.dirs]:
            unshown.append(self.files.pop(path).path)  # a key that is also a folder
        if unshown:
            log.warning("%d files of the source cannot be shown as paths and are left out "
                        "(e.g. %r): empty, '.' or '..' parts, names over %d bytes, or a file "
                        "where a folder is", len(unshown), sorted(unshown)[0], NAME_MAX)
        self.unshown = len(unshown)
        self.stats_path: str | None = "/" + STATS_FILE
        if self.stats_path in self.files:
            log.warning("the source has a file named %s: it is served, and the statistics "
                        "are read from the cache directory (corral cache stats CACHE_DIR)",
                        STATS_FILE)
            self.stats_path = None
        cache.set_dataset_bytes(sum(info.size for info in self.files.values()))
        self._open: dict[int, OpenFile] = {}
        self._handles = itertools.count(1)
        self._lock = threading.Lock()

    def _add(self, info: FileInfo) -> bool:
        """Add *info* to the tree; False when its path cannot be shown (see the module)."""
        parts = info.path.split("/")
        if any(part in ("", ".", "..") or "\0" in part
               or len(part.encode("utf-8", "surrogateescape")) > NAME_MAX for part in parts):
            return False
        path = "/" + info.path
        if path in self.files:
            return False
        self.files[path] = info
        parent, _, name = path.rpartition("/")
        while True:
            self.dirs.setdefault(parent or "/", set()).add(name)
            if not parent:
                return True
            parent, _, name = parent.rpartition("/")

    def stats_document(self) -> dict[str, object]:
        """The live statistics."""
        return cache_report(self.cache.tier.reader_index(), self.cache.policy.name,
                            self.cache.pass_through, self.cache.write_failures)

    # -- FUSE operations -------------------------------------------------------------
    def getattr(self, path: str, fh: Any = None) -> dict[str, int]:
        if path in self.dirs:
            return {"st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2}
        if path == self.stats_path:
            return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": 0}
        info = self.files.get(path)
        if info is None:
            raise fuse.FuseOSError(errno.ENOENT)
        return {"st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": info.size}

    def readdir(self, path: str, fh: Any) -> list[str]:
        names = sorted(self.dirs.get(path, ()))
        extra = [STATS_FILE] if path == "/" and self.stats_path is not None else []
        return [".", "..", *names, *extra]

    def open(self, path: str, fi: Any) -> int:
        if fi.flags & 3 != 0:  # O_WRONLY or O_RDWR
            raise fuse.FuseOSError(errno.EROFS)
        file: OpenFile
        if path == self.stats_path:
            file = BytesFile(json.dumps(self.stats_document(), indent=1).encode())
            fi.direct_io = 1  # its size is unknown up front: read until the end
        else:
            info = self.files.get(path)
            if info is None:
                raise fuse.FuseOSError(errno.ENOENT)
            try:
                file = self.cache.open(info)
            except OSError as exc:
                raise fuse.FuseOSError(exc.errno or errno.EIO) from None
        with self._lock:
            fi.fh = next(self._handles)
            self._open[fi.fh] = file
        return 0

    def read(self, path: str, size: int, offset: int, fi: Any) -> bytes:
        try:
            return self._open[fi.fh].read_at(offset, size)
        except OSError as exc:
            raise fuse.FuseOSError(exc.errno or errno.EIO) from None

    def release(self, path: str, fi: Any) -> int:
        with self._lock:
            file = self._open.pop(fi.fh, None)
        if file is not None:
            file.close()
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
    try:
        is_dir = stat.S_ISDIR(os.stat(mountpoint).st_mode)
    except FileNotFoundError:
        is_dir = False
    except OSError as exc:
        if exc.errno == errno.ENOTCONN:
            raise ConfigError(
                f"{mountpoint} is a stale mount (its cache daemon is gone); clear it with "
                f"`fusermount3 -u {mountpoint}` and mount again") from None
        raise ConfigError(f"mount point {str(mountpoint)!r}: {exc.strerror}") from None
    if not is_dir:
        raise ConfigError(f"mount point {str(mountpoint)!r} is not a directory")
    fuse.FUSE(CacheFs(cache), str(mountpoint), foreground=foreground, ro=True, raw_fi=True,
              fsname="corral-cache", default_permissions=True, allow_other=False)
