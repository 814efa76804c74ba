"""ResourceFit (Filter): how many tasks each node's free GPUs, CPU and memory can hold.

Whole-GPU tasks count only wholly free GPUs and a fractional task only GPUs with enough share
left, so a whole-GPU task and a fractional one never share a GPU (as HAMi and NVIDIA's device
plugin keep them apart). The Kubernetes analogue is ``NodeResourcesFit``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import Filter
from corral.model import MILLI, Job
from corral.plugins import names


class ResourceFit:
    """Per node: min(whole free GPUs // GPUs per task (or shares that fit), CPU, memory)."""

    name: ClassVar[str] = names.RESOURCE_FIT
    extension_points: ClassVar[tuple[str, ...]] = ("filter",)

    def filter(self, state: CycleState, job: Job) -> np.ndarray | None:
        """Tasks of *job* each node can host with its free capacity (capped at one for a
        single-task job, where comparisons are cheaper than divisions)."""
        milli, cpu, mem = job.gpu_milli, job.cpu_milli, job.memory_mib
        if job.tasks == 1:
            if milli == MILLI:
                fit = state.whole_free > 0
            elif milli > MILLI:
                fit = state.whole_free >= milli // MILLI
            elif milli > 0:
                fit = (state.gpu_free >= milli).any(axis=1)
            else:
                fit = None
            if cpu:
                fit = state.cpu_free >= cpu if fit is None else fit & (state.cpu_free >= cpu)
            if mem:
                fit = state.mem_free >= mem if fit is None else fit & (state.mem_free >= mem)
            return fit
        if milli == MILLI:
            fit = state.whole_free  # read-only: the core never writes a filter's answer
        elif milli > MILLI:
            fit = state.whole_free // (milli // MILLI)
        elif milli > 0:
            fit = (state.gpu_free // milli).sum(axis=1)
        else:
            fit = None
        if cpu:
            fit = state.cpu_free // cpu if fit is None else np.minimum(fit, state.cpu_free // cpu)
        if mem:
            fit = state.mem_free // mem if fit is None else np.minimum(fit, state.mem_free // mem)
        return fit

_: Filter = ResourceFit()
