"""StrictGang (Permit): all of a gang's tasks are placed, or none.

Distributed training cannot make progress with part of its workers, and a partly placed gang
holds GPUs that others could use (the deadlock gang scheduling exists to avoid; Volcano's and
the scheduler-plugins' Coscheduling). A refused gang reserves nothing in the cycle.
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
    """Permits a placement only if it holds every task of the gang."""

    name: ClassVar[str] = names.STRICT_GANG
    extension_points: ClassVar[tuple[str, ...]] = ("permit",)

    def permit(self, state: CycleState, job: Job, chosen: Sequence[tuple[int, int]]) -> Status:
        """SUCCESS only for a whole gang."""
        placed = chosen[0][1] if len(chosen) == 1 else sum(tasks for _, tasks in chosen)
        if placed < job.tasks:
            largest = max((tasks for _, tasks in chosen), default=0)
            return unschedulable(self.name, f"gang {placed}/{job.tasks} placeable: needs "
                                 f"{job.tasks} x {task_text(job)}, largest fit {largest}")
        return OK


_: Permit = StrictGang()
