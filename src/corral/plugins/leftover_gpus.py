"""What bin-packing and spreading both measure: GPU share a node keeps free after a placement.

Split into what the node has free now (an array) and what the placement takes (a scalar for
the common single task), so each score is two array operations.
"""

from __future__ import annotations

import numpy as np

from corral.core.cycle_state import CycleState
from corral.model import MILLI, Job


def free_share(state: CycleState, job: Job, nodes: np.ndarray, scale: float) -> np.ndarray:
    """``scale`` x the GPU capacity free on each of *nodes*, over the largest node's GPUs.
    Whole-GPU jobs count wholly free GPUs only (partly used GPUs are of no use to them);
    fractional jobs count every free share."""
    if job.gpu_milli >= MILLI:
        return state.whole_free[nodes] * (scale * MILLI / state.cluster.max_node_gpu_milli)
    return state.gpu_free[nodes].sum(axis=1) * (scale / state.cluster.max_node_gpu_milli)


def taken_share(state: CycleState, job: Job, fit: np.ndarray, remaining: int,
                scale: float) -> float | np.ndarray:
    """``scale`` x the GPU capacity each node would give to its share of the *remaining* tasks,
    in the units of :func:`free_share`."""
    take = 1 if remaining == 1 else np.minimum(fit, remaining)
    return take * (job.gpu_milli * scale / state.cluster.max_node_gpu_milli)
