"""QuotaAdmit (Admit): a job starts only within its queues' guarantee plus borrowing limit.

Kueue's ClusterQueue admission (nominal quota, ``borrowingLimit`` within a cohort) and
YuniKorn's hierarchical ``max`` resources: at the job's leaf queue and at each ancestor, what
the queue holds plus what the job asks must stay within the guarantee, or within guarantee +
borrowing limit where a limit is set (no limit: any idle capacity may be borrowed). Jobs that
would exceed a ceiling wait with the reason; the order (``DrfOrder``) puts jobs that run within
quota ahead of borrowers, and ``QueuePreemption`` takes borrowed capacity back.
"""

from __future__ import annotations

from typing import ClassVar

from corral.core.cycle_state import CycleState
from corral.core.framework import Admit
from corral.core.status import OK, Code, Status
from corral.model import Job
from corral.plugins import names
from corral.plugins.queue_quota import first_ceiling


class QuotaAdmit:
    """WAIT for a job whose queue (or an ancestor) would go past its ceiling."""

    name: ClassVar[str] = names.QUOTA_ADMIT
    extension_points: ClassVar[tuple[str, ...]] = ("admit",)

    def admit(self, state: CycleState, job: Job) -> Status:
        """OK without queue quotas or within the ceilings; otherwise WAIT naming the queue."""
        tree, usage = state.cluster.queues, state.usage
        if tree is None or usage is None:
            return OK
        over = first_ceiling(usage, tree, job)
        return OK if over is None else Status(Code.WAIT, (over,), self.name)


_: Admit = QuotaAdmit()
