"""BestFit (Score): bin-pack; prefer the node left with the fewest free GPUs.

The "best fit" rule of the Helios and Tiresias simulators (fewest free GPUs that still fit), in
absolute GPUs so a 2-GPU node that fits exactly beats a half-empty 8-GPU node. Keeps whole nodes
free for large gangs.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import MAX_SCORE, Score
from corral.model import Job
from corral.plugins import names
from corral.plugins.leftover_gpus import free_share, taken_share


class BestFit:
    """Score = 100 x (1 - GPUs left free / GPUs of the largest node)."""

    name: ClassVar[str] = names.BEST_FIT
    extension_points: ClassVar[tuple[str, ...]] = ("score",)

    def score(self, state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
              remaining: int) -> np.ndarray:
        """Higher for tighter fits."""
        taken = taken_share(state, job, fit, remaining, MAX_SCORE)
        return (MAX_SCORE + taken) - free_share(state, job, nodes, MAX_SCORE)


_: Score = BestFit()
