"""GpuTypeFilter (Filter): only nodes whose GPU model the job accepts (openb's ``gpu_spec``)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import Filter
from corral.model import Job
from corral.plugins import names

_UNLIMITED = np.int64(1 << 40)


class GpuTypeFilter:
    """Rules out nodes of GPU types outside ``job.gpu_types``; restricts nothing if it is empty."""

    name: ClassVar[str] = names.GPU_TYPE_FILTER
    extension_points: ClassVar[tuple[str, ...]] = ("filter",)

    def filter(self, state: CycleState, job: Job) -> np.ndarray | None:
        """0 on nodes of other GPU types, unlimited elsewhere."""
        if not job.gpu_types:
            return None
        return np.where(state.cluster.type_mask(job.gpu_types), _UNLIMITED, 0)


_: Filter = GpuTypeFilter()
