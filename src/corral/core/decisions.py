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
    """Move running job *job_id* to *placement*: grow or shrink an elastic gang (the newest
    members leave first), or migrate a job to other GPUs at the same size."""

    job_id: str
    placement: Placement


Decision = Start | Preempt | Resize
