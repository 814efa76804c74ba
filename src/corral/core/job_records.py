"""Per-job records of the core's state: what it keeps about each job while the job is in the
cluster (as Kueue keeps a workload's info beside its queues and quota cache)."""

from __future__ import annotations

from dataclasses import dataclass, field

from corral.core.duration_estimate import DurationEstimate
from corral.model import MILLI, Job


@dataclass(slots=True)
class JobRecords:
    """Specs, waits, attained service, preemptions and predicted run times, by job id."""

    jobs: dict[str, Job] = field(default_factory=dict)
    """Every job submitted and not yet finished or withdrawn."""
    pending_since: dict[str, float] = field(default_factory=dict)
    """When each pending job started waiting (its submit, or its last preemption)."""
    attained: dict[str, float] = field(default_factory=dict)
    """GPU-seconds each job received in its finished run segments (before preemptions)."""
    last_run: dict[str, float] = field(default_factory=dict)
    """Length of each preempted job's last run segment (for starvation rules)."""
    preemptions: dict[str, int] = field(default_factory=dict)
    """How often each job has been preempted so far."""
    estimates: dict[str, DurationEstimate] = field(default_factory=dict)
    """Predicted run times, for the jobs the backend predicted (policies that read estimates
    ask for them)."""

    def preempted(self, job: Job, since: float, now: float) -> None:
        """*job*'s run segment from *since* ended at *now* by preemption: credit its service
        and count it; it waits again from *now*."""
        job_id = job.id
        self.last_run[job_id] = self.served(job, since, now)
        self.pending_since[job_id] = now
        self.preemptions[job_id] = self.preemptions.get(job_id, 0) + 1

    def served(self, job: Job, since: float, now: float) -> float:
        """Credit *job*'s run segment from *since* to *now* to its attained service (it ended,
        or the job changed size); returns the segment's length."""
        span = max(0.0, now - since)
        self.attained[job.id] = self.attained.get(job.id, 0.0) + job.total_gpu_milli / MILLI * span
        return span

    def forget(self, job_id: str) -> None:
        """Drop everything kept about a job that has left for good."""
        del self.jobs[job_id]
        self.pending_since.pop(job_id, None)
        self.attained.pop(job_id, None)
        self.last_run.pop(job_id, None)
        self.preemptions.pop(job_id, None)
        self.estimates.pop(job_id, None)
