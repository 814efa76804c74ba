"""GpuTypeFilter (Filter): only nodes whose GPU model the job accepts (openb's ``gpu_spec``)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import Filter
from corral.model import Job
from corral.plugins import names


class GpuTypeFilter:
    """Rules out nodes of GPU types outside ``job.gpu_types``; restricts nothing if it is empty."""

    name: ClassVar[str] = names.GPU_TYPE_FILTER
    extension_points: ClassVar[tuple[str, ...]] = ("filter",)

    def filter(self, state: CycleState, job: Job) -> np.ndarray | None:
        """0 on nodes of other GPU types; elsewhere the gang's size (a limit that never binds)."""
        if not job.gpu_types:
            return None
        mask = state.cluster.type_mask(job.gpu_types)
        return mask if job.tasks == 1 else mask * np.int64(job.tasks)


_: Filter = GpuTypeFilter()
