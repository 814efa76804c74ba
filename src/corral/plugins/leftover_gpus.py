"""What bin-packing and spreading both measure: GPU share a node keeps free after a placement."""

from __future__ import annotations

import numpy as np

from corral.core.cycle_state import CycleState
from corral.model import MILLI, Job


def leftover_share(state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
                   remaining: int, scale: float) -> np.ndarray:
    """``scale`` x the GPU capacity left free on each of *nodes* after it takes its share of the
    *remaining* tasks, over the largest node's GPUs. Whole-GPU jobs count wholly free GPUs only
    (partly used GPUs are of no use to them); fractional jobs count every free share.
    """
    milli = job.gpu_milli
    # A single remaining task is the common case: one scalar instead of an array op.
    take = 1 if remaining == 1 else np.minimum(fit, remaining)
    if milli >= MILLI:
        per_gpu = scale * MILLI / state.cluster.max_node_gpu_milli
        return (state.whole_free[nodes] - take * (milli // MILLI)) * per_gpu
    per_milli = scale / state.cluster.max_node_gpu_milli
    return (state.gpu_free[nodes].sum(axis=1) - take * milli) * per_milli
