"""What a scheduling cycle asks its backend to do. Backends apply preemptions before starts.

Decisions are named tuples of distinct classes, so ``isinstance`` tells them apart cheaply.
"""

from __future__ import annotations

from typing import NamedTuple

from corral.core.placement import Placement


class Start(NamedTuple):
    """Start (bind) job *job_id* on *placement*."""

    job_id: str
    placement: Placement


class Preempt(NamedTuple):
    """Evict the whole gang *job_id* (it goes back to pending), for *reason*."""

    job_id: str
    reason: str


class Resize(NamedTuple):
    """Move running elastic job *job_id* to *placement* (grow or shrink its gang)."""

    job_id: str
    placement: Placement


Decision = Start | Preempt | Resize
