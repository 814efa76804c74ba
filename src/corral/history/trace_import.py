"""Trace jobs as history rows: each job is one attempt that ran from submit to submit + duration.

Traces record no start times (the simulator decides them), so start = submit; durations are
still the measured run times. Submit times are seconds from the trace's first submit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the trace readers load pandas; the live scheduler imports this package
    from corral.traces.reader import Trace

_OUTCOME_WORDS = (
    ("preempt", "preempted"),
    ("cancel", "killed"),
    ("kill", "killed"),
    ("fail", "failed"),
    ("timeout", "failed"),
    ("error", "failed"),
)
"""Trace status words (Philly, Helios, openb) to history outcomes; anything else completed."""


def attempts_from_trace(trace: Trace) -> Iterator[dict[str, Any]]:
    """One attempt row per trace job, keyed by the trace file's name and the job id."""
    for job in trace.jobs:
        duration = job.duration or 0.0
        yield {
            "source": trace.name,
            "job_id": job.id,
            "attempt": 1,
            "user": job.user,
            "name": job.name,
            "queue": job.queue,
            "tasks": job.tasks,
            "gpu_milli": job.gpu_milli,
            "gpu_type": ",".join(job.gpu_types),
            "submit": job.submit,
            "start": job.submit,
            "end": job.submit + duration,
            "outcome": outcome(job.outcome),
            "gpu_util": None,
            "gpu_mem_peak_mib": None,
        }


def outcome(status: str) -> str:
    """The history outcome of a trace's status text (empty: the job ran to its end)."""
    lowered = status.lower()
    return next((word for key, word in _OUTCOME_WORDS if key in lowered), "completed")
