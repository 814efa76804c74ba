"""The statistics document ``corral cache stats`` prints, and the node annotation built from it.

A node publishes which datasets it holds and how much of each as the annotation
:data:`ANNOTATION` (a JSON object of dataset -> cached share, 0-1), which the data-aware
placement score reads into :attr:`corral.model.Node.datasets`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from corral.datacache.index import Index

ANNOTATION = "corral.dev/cached-datasets"
"""The node annotation a cache writes: ``{"imagenet": 0.31, ...}``."""

STATS_FILE = ".corral-cache-stats.json"
"""The read-only file at the root of a mount that holds the live statistics document."""


def cache_report(index: Index, policy: str, pass_through: bool = False,
                 write_failures: int = 0) -> dict[str, object]:
    """Capacity, use, per-dataset bytes (cached, and in all where known), per-epoch stats, and
    whether the cache disk was full (reads passed through, writes that failed)."""
    cached = index.cached_bytes()
    dataset_bytes = index.dataset_bytes()
    names = sorted(set(cached) | set(dataset_bytes))
    datasets: dict[str, dict[str, float | int | None]] = {}
    for name in names:
        total = dataset_bytes.get(name)
        share = min(1.0, cached.get(name, 0) / total) if total else None
        datasets[name] = {"cached_bytes": cached.get(name, 0), "bytes": total,
                          "cached_share": share}
    return {"policy": policy, "capacity": index.capacity, "used": index.used(),
            "pass_through": pass_through, "write_failures": write_failures,
            "datasets": datasets,
            "epochs": [row.to_json() for row in index.stats()]}


def node_annotation(report: Mapping[str, object]) -> str:
    """The :data:`ANNOTATION` value for *report*: datasets whose share is known."""
    datasets = report["datasets"]
    assert isinstance(datasets, dict)
    return json.dumps({name: round(d["cached_share"], 4) for name, d in datasets.items()
                       if d["cached_share"] is not None}, sort_keys=True)
