"""A map-style dataset of files read through the cache, shaped for ``torch.utils.data``.

It needs no PyTorch: ``DataLoader`` only asks a map-style dataset for ``__len__`` and
``__getitem__``. Each worker process opens the cache lazily on first use, so the object pickles
into workers, and all of them share one directory tier (one byte bound, one ledger)::

    data = CachedFiles("s3://bucket/imagenet/train", cache_dir="/local/ssd/cache", size="100G",
                       transform=decode_and_augment)
    loader = torch.utils.data.DataLoader(data, batch_size=256, shuffle=True, num_workers=8)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from corral.datacache.cache import DataCache, open_cache
from corral.datacache.sizes import parse_size
from corral.datacache.stores import FileInfo, open_store


class CachedFiles:
    """Item *i* is ``transform(bytes of file i)`` (the raw bytes without a transform); files
    are listed once, sorted by path, so every worker sees the same order."""

    def __init__(self, source: str, cache_dir: str | Path, size: str | int, policy: str = "nr",
                 transform: Callable[[bytes], Any] | None = None, dataset: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self.source = source
        self.cache_dir = str(cache_dir)
        self.size = size if isinstance(size, int) else parse_size(size)
        self.policy = policy
        self.transform = transform
        self.dataset = dataset or source.rstrip("/").rsplit("/", 1)[-1]
        self.endpoint_url = endpoint_url
        self.files: list[FileInfo] = sorted(open_store(source, endpoint_url).list(),
                                            key=lambda info: info.path)
        self._cache: DataCache | None = None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Any:
        data = self.cache.read(self.files[index])
        return data if self.transform is None else self.transform(data)

    @property
    def cache(self) -> DataCache:
        """This process's handle on the shared cache, opened on first use."""
        if self._cache is None:
            self._cache = open_cache(open_store(self.source, self.endpoint_url), self.size,
                                     self.policy, self.dataset, self.cache_dir)
        return self._cache

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the open cache (a SQLite connection): each worker opens its own."""
        return {**self.__dict__, "_cache": None}
