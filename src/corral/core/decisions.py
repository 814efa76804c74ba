"""What a scheduling cycle asks its backend to do. Backends apply preemptions before starts."""

from __future__ import annotations

from dataclasses import dataclass

from corral.core.placement import Placement


@dataclass(frozen=True, slots=True)
class Start:
    """Start (bind) job *job_id* on *placement*."""

    job_id: str
    placement: Placement


@dataclass(frozen=True, slots=True)
class Preempt:
    """Evict the whole gang *job_id* (it goes back to pending), for *reason*."""

    job_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Resize:
    """Move running elastic job *job_id* to *placement* (grow or shrink its gang)."""

    job_id: str
    placement: Placement


Decision = Start | Preempt | Resize
