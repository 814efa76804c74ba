"""StrictGang (Permit): at least a gang's minimum is placed, or none of it.

A rigid gang's minimum is all of its tasks; an elastic one (``Job.min_tasks`` < ``tasks``, a
PodGroup's minMember) is placed all-or-nothing up to its minimum and takes extra members as
they fit, as the scheduler-plugins' Coscheduling does. Distributed training cannot make
progress with fewer workers than its minimum, and a partly placed gang holds GPUs that others
could use (the deadlock gang scheduling exists to avoid). A refused gang reserves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from corral.core.cycle_state import CycleState
from corral.core.framework import Permit
from corral.core.gang_placement import task_text
from corral.core.status import OK, Status, unschedulable
from corral.model import Job
from corral.plugins import names


class StrictGang:
    """Permits a placement only if it holds at least the gang's minimum."""

    name: ClassVar[str] = names.STRICT_GANG
    extension_points: ClassVar[tuple[str, ...]] = ("permit",)

    def permit(self, state: CycleState, job: Job, chosen: Sequence[tuple[int, int]]) -> Status:
        """SUCCESS only for a gang of ``job.min_tasks`` tasks or more."""
        placed = chosen[0][1] if len(chosen) == 1 else sum(tasks for _, tasks in chosen)
        if placed < job.min_tasks:
            largest = max((tasks for _, tasks in chosen), default=0)
            return unschedulable(self.name, f"gang {placed}/{job.min_tasks} placeable: needs "
                                 f"{job.min_tasks} x {task_text(job)}, largest fit {largest}")
        return OK


_: Permit = StrictGang()
