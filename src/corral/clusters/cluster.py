"""A cluster: the fixed set of nodes a simulation (or the scheduler) places jobs on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from corral.model import ConfigError, Node


@dataclass(frozen=True)
class Cluster:
    """Named nodes; node names are unique because placements and reports refer to them."""

    name: str
    nodes: tuple[Node, ...]

    def __post_init__(self) -> None:
        if not self.nodes:
            raise ConfigError(f"cluster {self.name!r} has no nodes")
        names = Counter(node.name for node in self.nodes)
        repeated = [name for name, count in names.items() if count > 1]
        if repeated:
            raise ConfigError(f"cluster {self.name!r}: node name {repeated[0]!r} is used twice")

    @property
    def gpus(self) -> int:
        """Total GPUs."""
        return sum(node.gpus for node in self.nodes)

    def describe(self) -> str:
        """One line: ``philly: 552 nodes, 2,490 GPUs (321x2 GPU-12GB, 231x8 GPU-24GB)``.

        Node shapes are listed most common first (ties in the order they first appear).
        """
        shapes = Counter((node.gpus, node.gpu_type) for node in self.nodes)
        parts = [
            f"{count:,}x{gpus} {gpu_type}" if gpus else f"{count:,} CPU-only"
            for (gpus, gpu_type), count in shapes.most_common()
        ]
        nodes = len(self.nodes)
        return (
            f"{self.name}: {nodes:,} node{'s' if nodes != 1 else ''}, {self.gpus:,} GPUs"
            f" ({', '.join(parts)})"
        )
