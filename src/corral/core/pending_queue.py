"""Pending jobs kept in policy order incrementally, so no cycle ever re-sorts them.

Each job is filed under its *group* (its shape, and whatever else decides whether it can start
as its group's earlier jobs could) in a sorted list keyed by the QueueSort plugin's key
(computed once, when a job enters the queue) plus an insertion counter that breaks ties
first-come-first-served, as SimPy's event ids do. A cycle walks the groups' heads merged on a
heap (:class:`PendingWalk`), so once a group is known not to fit for the rest of the cycle
its other jobs cost nothing: the cost of a cycle follows the jobs it decides, not the length
of the queue.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from sortedcontainers import SortedList

from corral.model import Job

SortKey = Callable[[Job], Any]
GroupKey = Callable[[Job], Hashable]

_Entry = tuple[Any, int, Job]


def shape_group(job: Job) -> Hashable:
    """The default group: jobs of one shape fit, or fail to fit, alike."""
    return job.shape


class PendingQueue:
    """Jobs waiting to start, iterated in (key, arrival) order; O(log n) add and remove."""

    __slots__ = ("_entries", "_groups", "_key", "_seq", "_sorted", "group")

    def __init__(self, key: SortKey, group: GroupKey = shape_group) -> None:
        self._key = key
        self.group = group
        """How jobs are grouped: a cycle may leave a whole group out once one of its jobs
        shows that the rest cannot start in that cycle."""
        self._seq = itertools.count()
        self._groups: dict[Hashable, SortedList] = {}
        self._sorted: SortedList = SortedList()
        """All entries in one order too, for readers that walk the whole queue."""
        self._entries: dict[str, tuple[_Entry, Hashable]] = {}

    def add(self, job: Job) -> None:
        """Queue *job*; a job already queued is re-keyed (its arrival order is kept)."""
        old = self._entries.get(job.id)
        if old is None:
            seq, group = next(self._seq), self.group(job)
        else:
            seq, group = old[0][1], old[1]
            self._groups[group].remove(old[0])
            self._sorted.remove(old[0])
        entry = (self._key(job), seq, job)
        self._entries[job.id] = (entry, group)
        members = self._groups.get(group)
        if members is None:
            members = self._groups[group] = SortedList()
        members.add(entry)
        self._sorted.add(entry)

    def remove(self, job_id: str) -> Job:
        """Take *job_id* out of the queue and return it (KeyError if absent)."""
        entry, group = self._entries.pop(job_id)
        members = self._groups[group]
        members.remove(entry)
        self._sorted.remove(entry)
        if not members:
            del self._groups[group]
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

    def walk(self) -> PendingWalk:
        """Jobs in policy order, with groups that can be left out of the rest of the walk."""
        return PendingWalk(list(self._groups.values()))

    def rekey(self) -> None:
        """Recompute every key (for orders that change with time, such as starvation
        promotion); arrival order among equal keys is kept."""
        for group, members in self._groups.items():
            entries = [(self._key(job), seq, job) for _, seq, job in members]
            for entry in entries:
                self._entries[entry[2].id] = (entry, group)
            self._groups[group] = SortedList(entries)
        self._sorted = SortedList(entry for entry, _ in self._entries.values())

    def head(self) -> Job | None:
        """The first job in policy order, or None when empty."""
        return self._sorted[0][2] if self._entries else None


class PendingWalk:
    """A merge of the groups' sorted lists in (key, arrival) order.

    :meth:`drop` leaves the group of the job just yielded out of the rest of the walk;
    :meth:`revive` brings every dropped group back at its first job after the one just
    yielded. The queue must not change during a walk.
    """

    __slots__ = ("_at", "_dropped", "_groups", "_heap", "_last", "_rest")

    def __init__(self, groups: list[SortedList]) -> None:
        self._groups = groups
        self._rest = [iter(members) for members in groups]
        self._heap: list[tuple[Any, int, int, Job]] = []
        for g, rest in enumerate(self._rest):
            key, seq, job = next(rest)
            self._heap.append((key, seq, g, job))
        heapq.heapify(self._heap)
        self._dropped: set[int] = set()
        self._last: int | None = None
        self._at: tuple[Any, int] | None = None

    def __iter__(self) -> Iterator[Job]:
        return self

    def __next__(self) -> Job:
        heap = self._heap
        if self._last is not None:
            self._advance(self._last, self._rest[self._last])
        if not heap:
            self._last = None
            raise StopIteration
        key, seq, g, job = heapq.heappop(heap)
        self._last = g
        self._at = (key, seq)
        return job

    def drop(self) -> None:
        """Yield no more jobs of the group of the job just yielded."""
        if self._last is not None:
            self._dropped.add(self._last)
            self._last = None

    def revive(self) -> None:
        """Resume every dropped group at its first job after the one just yielded: the jobs
        passed over meanwhile stay passed over, as a full walk would have skipped them."""
        dropped, self._dropped = self._dropped, set()
        for g in dropped:
            rest = self._groups[g].irange(minimum=self._at) if self._at is not None \
                else self._rest[g]
            self._rest[g] = rest
            self._advance(g, rest)

    def _advance(self, g: int, rest: Iterator[tuple[Any, int, Job]]) -> None:
        entry = next(rest, None)
        if entry is not None:
            heapq.heappush(self._heap, (entry[0], entry[1], g, entry[2]))
