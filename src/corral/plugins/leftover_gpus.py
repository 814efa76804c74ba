"""What bin-packing and spreading both measure: GPU share a node keeps free after a placement."""

from __future__ import annotations

import numpy as np

from corral.core.cycle_state import CycleState
from corral.model import MILLI, Job


def leftover_fraction(state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
                      remaining: int) -> np.ndarray:
    """Free GPU capacity left on each of *nodes* after it takes its share of the *remaining*
    tasks, as a fraction of the largest node's GPUs. Whole-GPU jobs count wholly free GPUs only
    (partly used GPUs are of no use to them); fractional jobs count every free share.
    """
    take = np.minimum(fit, remaining)
    milli = job.gpu_milli
    if milli >= MILLI:
        left = (state.whole_free[nodes] - take * (milli // MILLI)) * MILLI
    else:
        left = state.gpu_free[nodes].sum(axis=1) - take * milli
    return left / state.cluster.max_node_gpu_milli
