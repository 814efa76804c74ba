"""Several clusters behind one dispatcher, as read from ``clusters.toml``.

Each ``[[cluster]]`` is a whole cluster of its own: its nodes (any ``--cluster`` spec, ``auto``
sized on its own trace), its scheduling policy, its price, and the trace of the jobs submitted
to it (their *home*). ``[dispatch]`` holds what moving a job between clusters costs. Every
value is checked where it is read; a bad one is one error naming the file and the field.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.multicluster.dispatch_policies import POLICIES
from corral.toml_fields import TomlFields, open_toml

MAX_CLUSTERS = 64
MAX_SECONDS = 86_400.0 * 30
MAX_GB = 1_000_000.0
MAX_GBIT_S = 10_000.0
MAX_COST = 1_000_000.0
MAX_CACHE_DATASETS = 1_000_000


@dataclass(frozen=True)
class DispatchSettings:
    """What moving a job off its home cluster costs, and when dispatch policies spill.

    ``delay_s``: the manager hands the job to another cluster's API server (a round of
    watches and writes). ``transfer_gbit_s`` and ``dataset_gb``: its training data is copied
    unless that cluster's data cache holds it (``cache_datasets``, least recently used first
    out). ``spill_after_s``: the predicted wait at home beyond which home-spill and cost look
    elsewhere.
    """

    policy: str = "home"
    delay_s: float = 30.0
    transfer_gbit_s: float = 10.0
    dataset_gb: float = 50.0
    spill_after_s: float = 1800.0
    cache_datasets: int = 64

    def transfer_s(self) -> float:
        """Seconds to copy one job's training data between clusters."""
        return self.dataset_gb * 8.0 / self.transfer_gbit_s


@dataclass(frozen=True)
class MemberCluster:
    """One cluster: its name, the trace of the jobs submitted to it, its nodes, its policy and
    its price per GPU-hour."""

    name: str
    trace: Path
    nodes: str
    policy: str
    gpu_cost: float


@dataclass(frozen=True)
class ClusterSet:
    """The clusters (in file order) and the dispatch settings."""

    clusters: tuple[MemberCluster, ...]
    dispatch: DispatchSettings


def load_cluster_set(path: str | os.PathLike[str]) -> ClusterSet:
    """Read ``clusters.toml`` at *path*; relative trace and node-file paths are taken from the
    file's own folder."""
    data, fields = open_toml(path, "clusters file", ("dispatch", "cluster"))
    base = Path(path).parent
    table = _table(fields, data.get("dispatch", {}), "dispatch")
    fields.check_keys(table, ("policy", "delay_s", "transfer_gbit_s", "dataset_gb",
                              "spill_after_s", "cache_datasets"), "dispatch.")
    dispatch = DispatchSettings(
        policy=fields.string(table, "policy", "dispatch.policy", default="home"),
        delay_s=_bounded(fields, table, "delay_s", "dispatch", 0.0, MAX_SECONDS, 30.0),
        transfer_gbit_s=_bounded(fields, table, "transfer_gbit_s", "dispatch", 0.001,
                                 MAX_GBIT_S, 10.0),
        dataset_gb=_bounded(fields, table, "dataset_gb", "dispatch", 0.0, MAX_GB, 50.0),
        spill_after_s=_bounded(fields, table, "spill_after_s", "dispatch", 0.0, MAX_SECONDS,
                               1800.0),
        cache_datasets=fields.integer(table, "cache_datasets", "dispatch.cache_datasets",
                                      minimum=0, default=64),
    )
    if dispatch.policy not in POLICIES:
        raise fields.fail("dispatch.policy", f"unknown dispatch policy {dispatch.policy!r}; "
                                             f"known: {', '.join(POLICIES)}")
    if dispatch.cache_datasets > MAX_CACHE_DATASETS:
        raise fields.fail("dispatch.cache_datasets", f"must be <= {MAX_CACHE_DATASETS:,}")
    rows = data.get("cluster")
    if not isinstance(rows, list) or not rows:
        raise fields.fail("cluster", "give at least one [[cluster]] table")
    if len(rows) > MAX_CLUSTERS:
        raise fields.fail("cluster", f"at most {MAX_CLUSTERS} clusters, got {len(rows)}")
    clusters = tuple(_member(fields, row, i, base) for i, row in enumerate(rows))
    names = [c.name for c in clusters]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise fields.fail("cluster", f"names must be unique; repeated: {', '.join(twice)}")
    return ClusterSet(clusters, dispatch)


def _member(fields: TomlFields, row: Any, i: int, base: Path) -> MemberCluster:
    where = f"cluster[{i}]"
    row = _table(fields, row, where)
    fields.check_keys(row, ("name", "trace", "nodes", "policy", "gpu_cost"), f"{where}.")
    name = fields.string(row, "name", f"{where}.name", default="")
    if len(name) > 63 or not name.replace("-", "").replace("_", "").isalnum():
        raise fields.fail(f"{where}.name", "letters, digits, - and _ only, at most 63")
    trace = base / fields.string(row, "trace", f"{where}.trace", default="")
    nodes = fields.string(row, "nodes", f"{where}.nodes", default="auto")
    if nodes.lower().endswith(".toml") and not Path(nodes).is_absolute():
        nodes = str(base / nodes)
    return MemberCluster(
        name=name,
        trace=trace,
        nodes=nodes,
        policy=fields.string(row, "policy", f"{where}.policy", default="fifo"),
        gpu_cost=_bounded(fields, row, "gpu_cost", where, 0.0, MAX_COST, 1.0),
    )


def _table(fields: TomlFields, value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fields.fail(field, f"must be a table, got {value!r}")
    return value


def _bounded(fields: TomlFields, table: dict[str, Any], key: str, where: str, low: float,
             high: float, default: float) -> float:
    """A finite number in [low, high], else one error naming the field and the range."""
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and low <= value <= high):
        raise fields.fail(f"{where}.{key}", f"must be a number from {low:g} to {high:g}, "
                                            f"got {value!r}")
    return float(value)

