"""The history-free fallback: a recent median, from the most to the least specific group.

The chain is the user's recent jobs of the same GPU count, then the queue's, then the whole
cluster's; before anything has finished it answers :data:`DEFAULT_SECONDS`, so it always answers.
"""

from __future__ import annotations

import math

from corral.model import Job
from corral.predict.features import History, gpu_count

DEFAULT_SECONDS = 3600.0
"""The answer before any job has finished: an hour, a common order of magnitude for DL jobs."""


def fallback_log_duration(history: History, job: Job) -> float:
    """The first known recent median log-duration along the chain."""
    for median in (history.user_gpus.median((job.user, gpu_count(job))),
                   history.queue.median(job.queue),
                   history.cluster.median(None)):
        if not math.isnan(median):
            return median
    return math.log(DEFAULT_SECONDS)


def fallback_seconds(history: History, job: Job) -> float:
    """:func:`fallback_log_duration` in seconds."""
    return math.exp(fallback_log_duration(history, job))
