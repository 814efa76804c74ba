"""What the training-data caches hold: the statistics documents they publish.

Each cache writes :data:`~corral.datacache.report.STATS_FILE` at the root of its mount (and
``corral cache stats --json`` prints the same document); the dashboard reads the documents or
mount roots it is given and flattens them into one row per cache and dataset, with the hit
ratios over all epochs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from corral.dashboard.api_models import DatasetRow
from corral.datacache.report import STATS_FILE


def dataset_rows(sources: Sequence[Path]) -> list[DatasetRow]:
    rows: list[DatasetRow] = []
    for source in sources:
        path = source / STATS_FILE if source.is_dir() else source
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(document, Mapping):
            rows.extend(rows_of(str(source), document))
    return rows


def rows_of(cache: str, document: Mapping[str, Any]) -> list[DatasetRow]:
    """One row per dataset of one cache's statistics document."""
    reads: dict[str, list[int]] = {}
    for epoch in document.get("epochs") or []:
        cell = reads.setdefault(str(epoch.get("dataset")), [0, 0, 0, 0])
        for i, key in enumerate(("hits", "misses", "hit_bytes", "miss_bytes")):
            cell[i] += int(epoch.get(key) or 0)
    rows = []
    datasets = document.get("datasets") or {}
    for name in sorted(set(datasets) | set(reads)):
        held = datasets.get(name) or {}
        hits, misses, hit_bytes, miss_bytes = reads.get(name, [0, 0, 0, 0])
        rows.append(DatasetRow(
            cache=cache, dataset=name, cached_bytes=int(held.get("cached_bytes") or 0),
            bytes=held.get("bytes"), cached_share=held.get("cached_share"),
            hit_ratio=hits / (hits + misses) if hits + misses else None,
            byte_hit_ratio=hit_bytes / (hit_bytes + miss_bytes)
            if hit_bytes + miss_bytes else None))
    return rows
