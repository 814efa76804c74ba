"""Pending jobs kept in policy order incrementally, so no cycle ever re-sorts them.

A sorted list keyed by the QueueSort plugin's key (computed once, when a job enters the
queue) plus an insertion counter that breaks ties first-come-first-served, as SimPy's event
ids do.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from sortedcontainers import SortedList

from corral.model import Job

SortKey = Callable[[Job], Any]


class PendingQueue:
    """Jobs waiting to start, iterated in (key, arrival) order; O(log n) add and remove."""

    __slots__ = ("_entries", "_key", "_seq", "_sorted")

    def __init__(self, key: SortKey) -> None:
        self._key = key
        self._seq = itertools.count()
        self._sorted: SortedList = SortedList()
        self._entries: dict[str, tuple[Any, int, Job]] = {}

    def add(self, job: Job) -> None:
        """Queue *job*; a job already queued is re-keyed (its arrival order is kept)."""
        old = self._entries.get(job.id)
        seq = next(self._seq) if old is None else old[1]
        if old is not None:
            self._sorted.remove(old)
        entry = (self._key(job), seq, job)
        self._entries[job.id] = entry
        self._sorted.add(entry)

    def remove(self, job_id: str) -> Job:
        """Take *job_id* out of the queue and return it (KeyError if absent)."""
        entry = self._entries.pop(job_id)
        self._sorted.remove(entry)
        return entry[2]

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __iter__(self) -> Iterator[Job]:
        """Jobs in policy order. Do not add or remove while iterating."""
        for entry in self._sorted:
            yield entry[2]

    def rekey(self) -> None:
        """Recompute every key (for orders that change with time, such as starvation
        promotion); arrival order among equal keys is kept."""
        entries = [(self._key(job), seq, job) for _, seq, job in self._sorted]
        self._entries = {entry[2].id: entry for entry in entries}
        self._sorted = SortedList(entries)

    def head(self) -> Job | None:
        """The first job in policy order, or None when empty."""
        return self._sorted[0][2] if self._entries else None
