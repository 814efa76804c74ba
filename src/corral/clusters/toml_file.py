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
defaults would leave them empty. Every mistake (unknown key, wrong type, out-of-range value)
raises :class:`ConfigError` naming the file and the field, e.g. ``nodes[1].gpus``, so that a typo
never falls back to a default silently.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Any

from corral.clusters.cluster import Cluster
from corral.clusters.node_groups import DEFAULT_GPU_TYPE, NodeNamer, node_group
from corral.model import ConfigError, InvalidSpec, Node

TOP_KEYS = ("name", "nodes")
NODE_KEYS = ("count", "gpus", "gpu_type", "cpu", "memory_gib", "topology", "labels", "name_prefix")
MIB_PER_GIB = 1024


def load_cluster_file(path: str | os.PathLike[str]) -> Cluster:
    """Read a TOML cluster file (format in the module docstring)."""
    where = os.fspath(path)
    try:
        data = tomllib.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: cluster file not found") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the cluster file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: TOML syntax error: {exc}") from None

    fields = _Fields(where)
    fields.check_keys(data, TOP_KEYS, "")
    name = fields.string(data, "name", "name", default=_stem(where), empty_ok=False)
    groups = data.get("nodes")
    if groups is None:
        raise ConfigError(f"{where}: nodes: missing; add at least one [[nodes]] table")
    if not isinstance(groups, list) or not groups:
        raise ConfigError(f"{where}: nodes: must be a non-empty array of [[nodes]] tables")
    namer = NodeNamer()
    nodes: list[Node] = []
    for index, group in enumerate(groups):
        nodes += _group(fields, group, f"nodes[{index}]", namer)
    try:
        return Cluster(name, tuple(nodes))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _group(fields: _Fields, group: Any, field: str, namer: NodeNamer) -> list[Node]:
    """The nodes of one ``[[nodes]]`` table."""
    if not isinstance(group, dict):
        raise ConfigError(f"{fields.where}: {field}: must be a table, got {group!r}")
    fields.check_keys(group, NODE_KEYS, f"{field}.")
    count = fields.integer(group, "count", f"{field}.count", minimum=1, default=1)
    gpus = fields.integer(group, "gpus", f"{field}.gpus", minimum=0)
    gpu_type = fields.string(group, "gpu_type", f"{field}.gpu_type", default=DEFAULT_GPU_TYPE)
    cpu = fields.number(group, "cpu", f"{field}.cpu", required=gpus == 0)
    memory = fields.number(group, "memory_gib", f"{field}.memory_gib", required=gpus == 0)
    topology = fields.string(group, "topology", f"{field}.topology", default="", empty_ok=True)
    prefix_default = gpu_type if gpus or "gpu_type" in group else "cpu"
    prefix = fields.string(group, "name_prefix", f"{field}.name_prefix", default=prefix_default)
    labels = fields.labels(group, "labels", f"{field}.labels")
    try:
        return node_group(
            namer,
            count,
            gpus,
            gpu_type,
            cpu_milli=None if cpu is None else round(cpu * 1000),
            memory_mib=None if memory is None else round(memory * MIB_PER_GIB),
            topology=topology,
            labels=labels,
            prefix=prefix,
        )
    except InvalidSpec as exc:
        raise ConfigError(f"{fields.where}: {field}: {exc}") from None


class _Fields:
    """Typed look-ups in TOML tables, each failing with ``<file>: <field>: <problem>``."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, field: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {field}: {problem}")

    def check_keys(self, table: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                expected = ", ".join(allowed)
                raise self.fail(f"{prefix}{key}", f"unknown key; expected one of {expected}")

    def integer(
        self,
        table: dict[str, Any],
        key: str,
        field: str,
        *,
        minimum: int,
        default: int | None = None,
    ) -> int:
        if key not in table:
            if default is None:
                raise self.fail(field, "missing")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"must be a whole number, got {value!r}")
        if value < minimum:
            raise self.fail(field, f"must be >= {minimum}, got {value}")
        return value

    def number(
        self, table: dict[str, Any], key: str, field: str, *, required: bool
    ) -> float | None:
        if key not in table:
            if required:
                raise self.fail(field, "missing (required for nodes without GPUs)")
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise self.fail(field, f"must be a finite number >= 0, got {value}")
        return float(value)

    def string(
        self,
        table: dict[str, Any],
        key: str,
        field: str,
        *,
        default: str,
        empty_ok: bool = False,
    ) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.fail(field, f"must be a string, got {value!r}")
        if not value and not empty_ok:
            raise self.fail(field, "must not be empty")
        return value

    def labels(self, table: dict[str, Any], key: str, field: str) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(field, f"must be a table of strings, got {value!r}")
        for name, label in value.items():
            if not isinstance(label, str):
                raise self.fail(f"{field}.{name}", f"must be a string, got {label!r}")
        return dict(value)


def _stem(where: str) -> str:
    """``clusters/lab.toml`` -> ``lab``."""
    path = Path(where)
    return path.stem if path.suffix.lower() == ".toml" else path.name
