"""Inline cluster specs: ``40x8`` (40 nodes of 8 GPUs) or ``300x8:V100,100x4:T4``.

Each comma-separated group is ``<nodes>x<gpus per node>`` with an optional ``:<GPU type>``
(default ``GPU``); CPU and memory take the per-GPU defaults of :mod:`node_groups`.
"""

from __future__ import annotations

import re

from corral.clusters.cluster import Cluster
from corral.clusters.node_groups import DEFAULT_GPU_TYPE, NodeNamer, node_group
from corral.model import ConfigError

GROUP = re.compile(r"(\d+)[xX](\d+)(?::([A-Za-z0-9][A-Za-z0-9._-]*))?")

FORM = "NODESxGPUS[:TYPE][,...] (e.g. 40x8 or 300x8:V100,100x4:T4)"
"""The accepted form, for error messages."""


def parse_inline(spec: str) -> Cluster | None:
    """The cluster an inline spec describes, or None when ``spec`` is not in inline form."""
    groups = []
    for part in spec.split(","):
        match = GROUP.fullmatch(part.strip())
        if match is None:
            return None
        groups.append(match)
    namer = NodeNamer()
    nodes = []
    names = []
    for match in groups:
        count, gpus, gpu_type = int(match[1]), int(match[2]), match[3] or DEFAULT_GPU_TYPE
        if count < 1 or gpus < 1:
            raise ConfigError(f"cluster {spec!r}: {match[0]!r} needs at least 1 node of 1 GPU")
        nodes += node_group(namer, count, gpus, gpu_type)
        names.append(f"{count}x{gpus}" + (f":{match[3]}" if match[3] else ""))
    return Cluster(",".join(names), tuple(nodes))
