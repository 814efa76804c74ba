"""The PyTorch-style dataset works without torch, and pickles into worker processes."""

from __future__ import annotations

import multiprocessing
import pickle
from pathlib import Path

from corral.datacache.torch_dataset import CachedFiles


def _length_of_item(data: CachedFiles, index: int) -> int:
    return len(data[index])


def test_items_are_file_bytes_read_through_a_shared_cache(dataset, tmp_path: Path) -> None:
    root, content = dataset
    data = CachedFiles(str(root), tmp_path / "c", "10000", transform=len)
    assert len(data) == 30
    assert data[0] == 1000
    raw = pickle.loads(pickle.dumps(CachedFiles(str(root), tmp_path / "c", 10_000)))
    assert raw[1] == content[raw.files[1].path]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.starmap(_length_of_item, [(raw, i) for i in range(30)]) == [1000] * 30
    assert sum(e.hits + e.misses for e in data.cache.stats()) == 32
