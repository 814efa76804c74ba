"""Spread (Score): prefer the node left with the most free GPUs (least allocated).

The Kubernetes default (``NodeResourcesFit`` with ``LeastAllocated``): spreads load and lowers
interference between co-located jobs, at the cost of fragmenting nodes for large gangs.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import MAX_SCORE, Score
from corral.model import Job
from corral.plugins import names
from corral.plugins.leftover_gpus import free_share, taken_share


class Spread:
    """Score = 100 x GPUs left free / GPUs of the largest node."""

    name: ClassVar[str] = names.SPREAD
    extension_points: ClassVar[tuple[str, ...]] = ("score",)

    def score(self, state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
              remaining: int) -> np.ndarray:
        """Higher for emptier nodes."""
        return free_share(state, job, nodes, MAX_SCORE) - taken_share(
            state, job, fit, remaining, MAX_SCORE)


_: Score = Spread()
