"""Time-series rows kept as typed columns: 8 bytes a number instead of a tuple of objects.

The simulator records the cluster (and each queue) at about two instants per job; as tuples of
Python numbers that is some 300 bytes a job, more than the job itself on a long trace.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

_DTYPES = {"d": np.float64, "q": np.int64}


class SeriesRows:
    """Rows appended as tuples, stored column by column: ``"d"`` a float, ``"q"`` an integer,
    ``"s"`` a string (a pointer to a string the caller already holds)."""

    def __init__(self, columns: Sequence[str], kinds: str) -> None:
        if len(columns) != len(kinds) or set(kinds) - {"d", "q", "s"}:
            raise ValueError(f"one kind of d, q or s per column, got {kinds!r} for {columns}")
        self.columns = tuple(columns)
        self._data: list[Any] = [[] if kind == "s" else array(kind) for kind in kinds]
        self._last: tuple[Any, ...] | None = None
        """The last row whole: the simulator compares every new row with it."""

    def append(self, row: tuple[Any, ...]) -> None:
        for column, value in zip(self._data, row, strict=True):
            column.append(value)
        self._last = row

    def __len__(self) -> int:
        return len(self._data[0])

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        if index == -1 and self._last is not None:
            return self._last
        return tuple(column[index] for column in self._data)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self._data, strict=True)

    def frame(self) -> pd.DataFrame:
        """The rows as a table: float64 and int64 columns as tuples of floats and ints give."""
        if not len(self):
            return pd.DataFrame(columns=list(self.columns))
        return pd.DataFrame({name: np.array(column, dtype=object) if isinstance(column, list)
                             else np.frombuffer(column, dtype=_DTYPES[column.typecode]).copy()
                             for name, column in zip(self.columns, self._data, strict=True)})
