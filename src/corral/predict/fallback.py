"""The history-free fallback: a recent median, from the most to the least specific group.

The chain is the user's recent jobs of the same GPU count, then the queue's, then the whole
cluster's; before anything has finished it answers :data:`DEFAULT_SECONDS`, so it always answers.
The chain itself lives with the other statistics in :class:`~corral.predict.features.History`.
"""

from __future__ import annotations

import math

from corral.model import Job
from corral.predict.features import DEFAULT_SECONDS, History

__all__ = ["DEFAULT_SECONDS", "fallback_seconds"]


def fallback_seconds(history: History, job: Job) -> float:
    """The fallback chain's answer in seconds."""
    return math.exp(history.fallback_log(job))
