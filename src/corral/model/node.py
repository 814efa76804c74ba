"""A GPU server as the scheduler sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from corral.model.errors import InvalidSpec
from corral.model.node_constraints import Taint

_NO_LABELS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Node:
    """One server: ``gpus`` identical GPUs of ``gpu_type`` plus CPU and memory.

    *topology* names the node's network domain (NVLink island, switch or rack) where known;
    an empty string means "unknown", and such nodes are treated as one flat domain.
    *datasets* maps the training datasets the node's local cache holds to the share of each
    it holds (0-1), as the node's data cache reports it (the ``corral.dev/cached-datasets``
    annotation); data-aware placement prefers nodes that hold a job's dataset.
    *taints* (NoSchedule / NoExecute) keep off every job that does not tolerate them;
    *shares_gpus* says the node enforces fractional GPUs (its agent's MPS limits), so jobs
    that take a share of a GPU may go there.
    """

    name: str
    gpus: int
    gpu_type: str = "GPU"
    cpu_milli: int = 0
    memory_mib: int = 0
    labels: Mapping[str, str] = field(default_factory=lambda: _NO_LABELS, compare=False, hash=False)
    topology: str = ""
    datasets: Mapping[str, float] = field(default_factory=lambda: _NO_LABELS, compare=False,
                                          hash=False)
    taints: tuple[Taint, ...] = ()
    shares_gpus: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidSpec("a node needs a name")
        for attr in ("gpus", "cpu_milli", "memory_mib"):
            value = getattr(self, attr)
            if not isinstance(value, int) or value < 0:
                raise InvalidSpec(
                    f"node {self.name}: {attr} must be an integer >= 0, got {value!r}")
        for dataset, share in self.datasets.items():
            if isinstance(share, bool) or not isinstance(share, int | float) \
                    or not 0 <= share <= 1:
                raise InvalidSpec(f"node {self.name}: cached share of dataset {dataset!r} must "
                                  f"be a number in [0, 1], got {share!r}")
