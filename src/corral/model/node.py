"""A GPU server as the scheduler sees it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from corral.model.errors import InvalidSpec

_NO_LABELS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Node:
    """One server: ``gpus`` identical GPUs of ``gpu_type`` plus CPU and memory.

    *topology* names the node's network domain (NVLink island, switch or rack) where known;
    an empty string means "unknown", and such nodes are treated as one flat domain.
    """

    name: str
    gpus: int
    gpu_type: str = "GPU"
    cpu_milli: int = 0
    memory_mib: int = 0
    labels: Mapping[str, str] = field(default_factory=lambda: _NO_LABELS, compare=False, hash=False)
    topology: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidSpec("a node needs a name")
        for attr in ("gpus", "cpu_milli", "memory_mib"):
            value = getattr(self, attr)
            if not isinstance(value, int) or value < 0:
                raise InvalidSpec(
                    f"node {self.name}: {attr} must be an integer >= 0, got {value!r}")
