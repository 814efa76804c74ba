"""Clusters published with public traces, built from node lists shipped in ``presets/``.

``philly`` is the Microsoft Philly machine list (published with the Philly trace, so the
philly-pollux format points to it); ``openb`` is the GPU node list of Alibaba's v2023 trace.
Their origin and licences are in ``presets/README.md``.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from functools import cache
from importlib.resources import files

from corral.clusters.cluster import Cluster
from corral.clusters.node_groups import CPU_MILLI_PER_GPU, MEMORY_MIB_PER_GPU
from corral.model import ConfigError, InvalidSpec, Node


def _rows(file_name: str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of a shipped gzip CSV, after checking its header."""
    data = files("corral.clusters").joinpath("presets").joinpath(file_name).read_bytes()
    text = gzip.decompress(data).decode("utf-8")
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    if tuple(name.strip() for name in reader.fieldnames or ()) != columns:
        raise ConfigError(f"preset file {file_name}: unexpected header {reader.fieldnames}")
    for row in reader:
        yield reader.line_num, {key.strip(): value.strip() for key, value in row.items()}


def _nodes(
    file_name: str, columns: tuple[str, ...], node: Callable[[dict[str, str]], Node]
) -> tuple[Node, ...]:
    """Nodes of a shipped node list; a bad row is a packaging bug, reported with its line."""
    nodes = []
    for line, row in _rows(file_name, columns):
        try:
            nodes.append(node(row))
        except (ValueError, InvalidSpec) as exc:
            raise ConfigError(f"preset file {file_name}: line {line}: {exc}") from None
    return tuple(nodes)


def _philly_node(row: dict[str, str]) -> Node:
    gpus = int(row["number of GPUs"])
    return Node(
        name=row["machineId"],
        gpus=gpus,
        gpu_type=f"GPU-{row['single GPU mem']}",
        cpu_milli=gpus * CPU_MILLI_PER_GPU,
        memory_mib=gpus * MEMORY_MIB_PER_GPU,
    )


def _openb_node(row: dict[str, str]) -> Node:
    return Node(
        name=row["sn"],
        gpus=int(row["gpu"]),
        gpu_type=row["model"] or "GPU",
        cpu_milli=int(row["cpu_milli"]),
        memory_mib=int(row["memory_mib"]),
    )


@cache
def philly() -> Cluster:
    """Philly: 552 servers, 321x2 GPUs of 12 GB and 231x8 of 24 GB (model not published)."""
    columns = ("machineId", "number of GPUs", "single GPU mem")
    return Cluster("philly", _nodes("cluster_machine_list.csv.gz", columns, _philly_node))


@cache
def openb() -> Cluster:
    """Alibaba openb: the 1,213 GPU nodes with real CPU, memory and GPU model."""
    columns = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
    return Cluster("openb", _nodes("openb_node_list_gpu_node.csv.gz", columns, _openb_node))


PRESETS: dict[str, tuple[str, Callable[[], Cluster]]] = {
    "philly": (
        "Microsoft Philly 2017: 552 nodes, 2,490 GPUs (321x2 12 GB, 231x8 24 GB)",
        philly,
    ),
    "openb": (
        "Alibaba openb 2023: 1,213 GPU nodes, 6,212 GPUs of 7 models, real CPU and memory",
        openb,
    ),
}
"""Preset name -> (one-line description, builder)."""


def list_presets() -> list[tuple[str, str]]:
    """(name, one-line description) of every preset."""
    return [(name, description) for name, (description, _) in PRESETS.items()]
