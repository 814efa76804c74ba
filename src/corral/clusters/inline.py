"""Inline cluster specs: ``40x8`` (40 nodes of 8 GPUs) or ``300x8:V100,100x4:T4``.

Each comma-separated group is ``<nodes>x<gpus per node>`` with an optional ``:<GPU type>``
(default ``GPU``); CPU and memory take the per-GPU defaults of :mod:`node_groups`. The whole
cluster is at most 100,000 nodes and 1,000,000 GPUs (:func:`node_groups.check_size`).
"""

from __future__ import annotations

import re

from corral.clusters.cluster import Cluster
from corral.clusters.node_groups import DEFAULT_GPU_TYPE, NodeNamer, check_size, node_group
from corral.model import ConfigError
from corral.model.limits import MAX_GPUS, MAX_NODES

GROUP = re.compile(r"(\d+)[xX](\d+)(?::([A-Za-z0-9][A-Za-z0-9._-]*))?")

FORM = "NODESxGPUS[:TYPE][,...] (e.g. 40x8 or 300x8:V100,100x4:T4)"
"""The accepted form, for error messages."""
SHOWN = 60
"""Characters of a long spec quoted in errors."""
DIGITS = 18
"""Longest count read as a number: far beyond every limit, and quick to read."""


def parse_inline(spec: str) -> Cluster | None:
    """The cluster an inline spec describes, or None when ``spec`` is not in inline form."""
    groups = []
    for part in spec.split(","):
        match = GROUP.fullmatch(part.strip())
        if match is None:
            return None
        groups.append(match)
    where = f"cluster {spec if len(spec) <= SHOWN else spec[:SHOWN] + '...'!r}"
    sizes = []
    for match in groups:
        count, gpus = _whole(match[1], where), _whole(match[2], where)
        if count < 1 or gpus < 1:
            raise ConfigError(f"{where}: {match[0]!r} needs at least 1 node of 1 GPU")
        sizes.append((count, gpus))
    check_size(where, sizes)
    namer = NodeNamer()
    nodes = []
    names = []
    for match, (count, gpus) in zip(groups, sizes, strict=True):
        nodes += node_group(namer, count, gpus, match[3] or DEFAULT_GPU_TYPE)
        names.append(f"{count}x{gpus}" + (f":{match[3]}" if match[3] else ""))
    return Cluster(",".join(names), tuple(nodes))


def _whole(digits: str, where: str) -> int:
    """The number *digits* spell; more digits than any limit has are an error at once (Python
    refuses to read numbers of thousands of digits)."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > DIGITS:
        raise ConfigError(f"{where}: a count of {len(digits):,} digits, more than the "
                          f"{MAX_NODES:,} nodes and {MAX_GPUS:,} GPUs a cluster may have")
    return int(digits)
