"""The simulator's clock: one heap of timed completions, as in SimPy's core.

Entries are ``(time, seq, payload)``; ``seq`` (an :func:`itertools.count`) breaks ties
first-in-first-out, so runs are deterministic. Arrivals are not pushed here: the simulator
merges them from the time-sorted trace, and processes completions at *t* before arrivals at
*t*, so capacity freed at *t* is usable at *t*. Scheduling ticks are a counter beside it.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any


class EventQueue:
    """A min-heap of future events."""

    __slots__ = ("_seq", "heap")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Any]] = []
        """The heap itself, readable (not writable) by the simulator's loop for speed."""
        self._seq = itertools.count()

    def push(self, time: float, payload: Any) -> None:
        """Schedule *payload* at *time*."""
        heapq.heappush(self.heap, (time, next(self._seq), payload))

    def peek(self) -> float:
        """Time of the next event (infinity if none)."""
        return self.heap[0][0] if self.heap else float("inf")

    def pop(self) -> tuple[float, int, Any]:
        """Remove and return the next event."""
        return heapq.heappop(self.heap)

    def __len__(self) -> int:
        return len(self.heap)
