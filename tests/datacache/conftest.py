"""A small generated dataset for the cache tests."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest


def write_dataset(root: Path, files: int = 30, size: int = 1000, seed: int = 0) -> dict[str, bytes]:
    """*files* files of *size* random bytes in two folders; returns path -> content."""
    rng = random.Random(seed)
    content = {}
    for i in range(files):
        path = f"{'train' if i % 2 else 'val'}/{i:04d}.jpg"
        data = rng.randbytes(size)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
        content[path] = data
    return content


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path / "source"
    return root, write_dataset(root)


@pytest.fixture
def make_dataset() -> Callable[..., dict[str, bytes]]:
    """:func:`write_dataset`, for tests that need another size or count of files."""
    return write_dataset
