"""QuotaAdmit (Admit): a job starts only within its queues' guarantee plus borrowing limit.

Kueue's ClusterQueue admission (nominal quota, ``borrowingLimit`` within a cohort) and
YuniKorn's hierarchical ``max`` resources: at the job's leaf queue and at each ancestor, what
the queue holds plus what the job asks must stay within the guarantee, or within guarantee +
borrowing limit where a limit is set (no limit: any idle capacity may be borrowed). A job that
would exceed a ceiling waits with the reason, unless it fits its own leaf queue's guarantee and
only an ancestor's ceiling binds because siblings borrowed: then its status is UNSCHEDULABLE,
which lets ``QueuePreemption`` reclaim the siblings' borrowed GPUs for it. The order
(``DrfOrder``) puts jobs that run within quota ahead of borrowers.

Borrowing takes only idle capacity: a job that would put its leaf queue above its guarantee
starts only if the GPUs left free still cover what other queues are owed now, each queue's
guarantee not yet used, up to what its waiting jobs ask. Otherwise a borrower could take, in
the same cycle, GPUs an owner is waiting for, and would have to be preempted right back.
"""

from __future__ import annotations

from typing import ClassVar

from corral.core.cycle_state import CycleState
from corral.core.framework import Admit
from corral.core.queue_usage import QueueUsage
from corral.core.status import OK, Code, Status, unschedulable
from corral.model import GPU, Job, QueueTree
from corral.plugins import names
from corral.plugins.queue_quota import first_ceiling, gpu_excess, within_leaf_guarantee


class QuotaAdmit:
    """WAIT for a job whose queue (or an ancestor) would go past its ceiling, or that would
    borrow GPUs another queue is owed."""

    name: ClassVar[str] = names.QUOTA_ADMIT
    extension_points: ClassVar[tuple[str, ...]] = ("admit",)
    reads_queue_usage: ClassVar[bool] = True
    _STATE_KEY: ClassVar[str] = "Admit" + names.QUOTA_ADMIT
    _ANSWERS_KEY: ClassVar[str] = "Admit" + names.QUOTA_ADMIT + "/answers"

    def admit(self, state: CycleState, job: Job) -> Status:
        """OK without queue quotas or within the ceilings; otherwise why not."""
        tree, usage = state.cluster.queues, state.usage
        if tree is None or usage is None:
            return OK
        # Jobs of one queue and shape are admitted alike until the cycle reserves or releases
        # anything: under load most of the queue is asked again every cycle.
        answers = state.data.get(self._ANSWERS_KEY)
        if answers is None or answers[0] != state.version:
            answers = (state.version, {})
            state.data[self._ANSWERS_KEY] = answers
        key = (job.queue, job.shape)
        status = answers[1].get(key)
        if status is None:
            status = answers[1][key] = self._decide(state, tree, usage, job)
        return status

    def _decide(self, state: CycleState, tree: QueueTree, usage: QueueUsage,
                job: Job) -> Status:
        over = first_ceiling(usage, tree, job)
        within = within_leaf_guarantee(usage, tree, job)
        if over is not None:
            if within and gpu_excess(usage, tree, job):
                return unschedulable(self.name, over, "siblings' borrowed GPUs may be reclaimed")
            return Status(Code.WAIT, (over,), self.name)
        if within:
            return OK
        owed, owner = self._owed(state, tree, usage, usage.chain(job.queue)[0])
        if owed and state.free_gpu_milli - job.total_gpu_milli < owed:
            return Status(Code.WAIT, (f"would borrow GPUs owed to queue {owner}",), self.name)
        return OK

    def _owed(self, state: CycleState, tree: QueueTree, usage: QueueUsage,
              leaf: str) -> tuple[int, str]:
        """Milli-GPUs other leaf queues are owed now (guarantee unused, up to their waiting
        demand as the cycle began, less what they started since), and one such queue to name.
        Only jobs that would run within their queue's guarantee are owed anything: a larger
        one borrows too, and two such borrowers must not hold GPUs idle for each other. The
        demand comes from the cluster's :class:`WaitingDemand`, not a walk of the queue."""
        start = state.data.get(self._STATE_KEY)
        if start is None:
            waiting = state.cluster.waiting_demand
            start = {}
            for name in waiting.leaves():
                held = usage.of_queue(name).get(GPU, 0)
                want = waiting.within(name, tree.guarantee[name].get(GPU, 0) - held)
                if want:
                    start[name] = (want, held)
            state.data[self._STATE_KEY] = start
        owed, owner = 0, ""
        for name, (want, held_then) in start.items():
            if name == leaf:
                continue
            held = usage.of_queue(name).get(GPU, 0)
            due = min(tree.guarantee[name].get(GPU, 0) - held, want - (held - held_then))
            if due > 0:
                owed += due
                owner = owner or name
        return owed, owner


_: Admit = QuotaAdmit()
