"""Where a plugin's run-time estimates come from: a user's time limit, the truth, or the
cluster's prediction; one rule for all of them once a job outlives its estimate.

``"limit"`` is the user's ``time_limit`` (as Slurm's backfill trusts ``--time``), ``"oracle"``
the true duration (reference policies declared ``oracle`` only), ``"predicted"`` the estimate
the backend predicted from the job history (:class:`~corral.core.duration_estimate.
DurationEstimate`). A job running past a limit or the truth is revised by the same rule as a
prediction, never killed.
"""

from __future__ import annotations

from corral.core.cluster_state import ClusterState
from corral.core.duration_estimate import remaining_after
from corral.model import ConfigError, Job

SOURCES = ("limit", "oracle", "predicted")


def check_source(plugin: str, source: str) -> None:
    """A clear error for an unknown estimate source."""
    if source not in SOURCES:
        raise ConfigError(f"{plugin}.estimate must be one of {SOURCES}, got {source!r}")


def remaining_seconds(source: str, job: Job, cluster: ClusterState, now: float) -> float | None:
    """Seconds *job* is expected to run from *now* on, or None when the source knows nothing."""
    if source == "predicted":
        return cluster.estimated_remaining(job, now)
    total = job.duration if source == "oracle" else job.time_limit
    if total is None:
        return None
    return remaining_after(total, total, cluster.ran_seconds(job, now))
