"""Numbered groups of identical nodes, and what a node gets when its source says nothing.

Defaults: 16 cores (16,000 milli-CPU) and 128 GiB (131,072 MiB) of memory per GPU. They apply to
inline specs (``40x8``), ``auto`` clusters, TOML node groups without ``cpu`` or ``memory_gib``,
and the Philly preset, whose release lists GPUs only. They are generous on purpose: traces
without CPU or memory requests ask for none anyway, and traces with them (openb, Helios) should
run out of GPUs before they run out of CPU on a cluster that was sized by GPUs.

Node names are ``<prefix>-<i>`` with ``i`` counted per prefix from 0 and zero-padded to four
digits (``GPU-0000``, ``V100-0299``), so they are deterministic and stay unique when two groups
share a GPU type.

Every way of naming a cluster checks its size with :func:`check_size` before building a node:
at most :data:`~corral.model.limits.MAX_NODES` nodes and
:data:`~corral.model.limits.MAX_GPUS` GPUs (docs/usage.md, "Limits").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from corral.model import ConfigError, Node
from corral.model.limits import MAX_GPUS, MAX_NODES

CPU_MILLI_PER_GPU = 16_000
"""Default CPU per GPU: 16 cores."""
MEMORY_MIB_PER_GPU = 131_072
"""Default memory per GPU: 128 GiB."""
DEFAULT_GPU_TYPE = "GPU"
"""GPU type of nodes whose model is not known."""


def check_size(where: str, groups: Iterable[tuple[int, int]]) -> None:
    """A :class:`ConfigError` naming *where* unless groups of (nodes, GPUs per node) stay within
    :data:`MAX_NODES` nodes and :data:`MAX_GPUS` GPUs in all."""
    nodes = gpus = 0
    for count, per_node in groups:
        nodes += count
        gpus += count * per_node
    if nodes > MAX_NODES:
        raise ConfigError(f"{where}: {nodes:,} nodes, more than the {MAX_NODES:,} a cluster "
                          "may have")
    if gpus > MAX_GPUS:
        raise ConfigError(f"{where}: {gpus:,} GPUs, more than the {MAX_GPUS:,} a cluster "
                          "may have")


class NodeNamer:
    """Hands out ``<prefix>-<i>`` names, counting separately for each prefix."""

    def __init__(self) -> None:
        self._next: Counter[str] = Counter()

    def __call__(self, prefix: str) -> str:
        index = self._next[prefix]
        self._next[prefix] += 1
        return f"{prefix}-{index:04d}"


def node_group(
    namer: NodeNamer,
    count: int,
    gpus: int,
    gpu_type: str = DEFAULT_GPU_TYPE,
    *,
    cpu_milli: int | None = None,
    memory_mib: int | None = None,
    topology: str = "",
    labels: Mapping[str, str] | None = None,
    prefix: str | None = None,
) -> list[Node]:
    """``count`` identical nodes; CPU and memory default to the per-GPU figures above."""
    frozen_labels = MappingProxyType(dict(labels or {}))
    return [
        Node(
            name=namer(prefix or gpu_type),
            gpus=gpus,
            gpu_type=gpu_type,
            cpu_milli=gpus * CPU_MILLI_PER_GPU if cpu_milli is None else cpu_milli,
            memory_mib=gpus * MEMORY_MIB_PER_GPU if memory_mib is None else memory_mib,
            labels=frozen_labels,
            topology=topology,
        )
        for _ in range(count)
    ]
