"""Cluster files in TOML: a name and groups of identical nodes.

::

    name = "lab"               # optional; default: the file name without .toml

    [[nodes]]                  # one table per group of identical nodes
    count = 4                  # optional, default 1
    gpus = 8                   # required, >= 0
    gpu_type = "A100-80GB"     # optional, default "GPU"
    cpu = 128                  # cores per node, optional (default 16 per GPU), to 1/1000 core
    memory_gib = 1024          # per node, optional (default 128 per GPU), to 1 MiB
    topology = "rack-1"        # optional network domain (NVLink island, switch, rack)
    labels = { zone = "a" }    # optional string labels
    name_prefix = "lab"        # optional, default gpu_type (or "cpu"): nodes lab-0000, lab-0001...

CPU-only groups (``gpus = 0``) must give ``cpu`` and ``memory_gib``, since the per-GPU
defaults would leave them empty. A node declares at most 100,000 cores and 1 PiB (1,048,576
GiB); the whole file at most 100,000 nodes and 1,000,000 GPUs, checked before any node is built.
Every mistake (unknown key, wrong type, out-of-range value) raises :class:`ConfigError` naming
the file and the field, e.g. ``nodes[1].gpus``, so that a typo never falls back to a default
silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.clusters.cluster import Cluster
from corral.clusters.node_groups import DEFAULT_GPU_TYPE, NodeNamer, check_size, node_group
from corral.model import ConfigError, InvalidSpec, Node
from corral.model.limits import MAX_NODE_CPU_CORES, MAX_NODE_MEMORY_GIB
from corral.toml_fields import MIB_PER_GIB, TomlFields, open_toml

TOP_KEYS = ("name", "nodes")
NODE_KEYS = ("count", "gpus", "gpu_type", "cpu", "memory_gib", "topology", "labels", "name_prefix")


def load_cluster_file(path: str | os.PathLike[str]) -> Cluster:
    """Read a TOML cluster file (format in the module docstring)."""
    data, fields = open_toml(path, "cluster file", TOP_KEYS)
    where = fields.where
    name = fields.string(data, "name", "name", default=_stem(where), empty_ok=False)
    groups = data.get("nodes")
    if groups is None:
        raise ConfigError(f"{where}: nodes: missing; add at least one [[nodes]] table")
    if not isinstance(groups, list) or not groups:
        raise ConfigError(f"{where}: nodes: must be a non-empty array of [[nodes]] tables")
    specs = [_group(fields, group, f"nodes[{index}]") for index, group in enumerate(groups)]
    check_size(where, ((spec.count, spec.gpus) for spec in specs))
    namer = NodeNamer()
    nodes: list[Node] = []
    for spec in specs:
        nodes += spec.build(fields, namer)
    try:
        return Cluster(name, tuple(nodes))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class _Group:
    """One ``[[nodes]]`` table, read and checked but not built yet."""

    field: str
    count: int
    gpus: int
    gpu_type: str
    cpu: float | None
    memory_gib: float | None
    topology: str
    labels: dict[str, str]
    prefix: str

    def build(self, fields: TomlFields, namer: NodeNamer) -> list[Node]:
        try:
            return node_group(
                namer,
                self.count,
                self.gpus,
                self.gpu_type,
                cpu_milli=None if self.cpu is None else round(self.cpu * 1000),
                memory_mib=None if self.memory_gib is None
                else round(self.memory_gib * MIB_PER_GIB),
                topology=self.topology,
                labels=self.labels,
                prefix=self.prefix,
            )
        except InvalidSpec as exc:
            raise ConfigError(f"{fields.where}: {self.field}: {exc}") from None


def _group(fields: TomlFields, group: Any, field: str) -> _Group:
    """One ``[[nodes]]`` table, checked."""
    if not isinstance(group, dict):
        raise ConfigError(f"{fields.where}: {field}: must be a table, got {group!r}")
    fields.check_keys(group, NODE_KEYS, f"{field}.")
    count = fields.integer(group, "count", f"{field}.count", minimum=1, default=1)
    gpus = fields.integer(group, "gpus", f"{field}.gpus", minimum=0)
    gpu_type = fields.string(group, "gpu_type", f"{field}.gpu_type", default=DEFAULT_GPU_TYPE)
    cpu = fields.number(group, "cpu", f"{field}.cpu", required=gpus == 0)
    memory = fields.number(group, "memory_gib", f"{field}.memory_gib", required=gpus == 0)
    for key, value, most in (("cpu", cpu, MAX_NODE_CPU_CORES),
                             ("memory_gib", memory, MAX_NODE_MEMORY_GIB)):
        if value is not None and value > most:
            raise fields.fail(f"{field}.{key}", f"{value:g} is more than the {most:,} a node "
                              "may have")
    topology = fields.string(group, "topology", f"{field}.topology", default="", empty_ok=True)
    prefix_default = gpu_type if gpus or "gpu_type" in group else "cpu"
    prefix = fields.string(group, "name_prefix", f"{field}.name_prefix", default=prefix_default)
    labels = fields.labels(group, "labels", f"{field}.labels")
    return _Group(field, count, gpus, gpu_type, cpu, memory, topology, labels, prefix)


def _stem(where: str) -> str:
    """``clusters/lab.toml`` -> ``lab``."""
    path = Path(where)
    return path.stem if path.suffix.lower() == ".toml" else path.name
