"""``auto[:LOAD]``: a homogeneous cluster just big enough for a trace to keep it LOAD busy.

Node count = ceil(GPU-seconds of all jobs / (span x LOAD x 8)), where span is the time from
the first to the last submission, so that the trace's work, spread over its arrival window,
fills the cluster to LOAD on average (queues still form at bursts, which is the point of a
scheduling experiment). If every job arrives at once (span 0) the longest job's duration stands
in for the span. The count is never below what the largest gang needs, so every job can run.
Nodes are 8-GPU ``GPU`` nodes with the default CPU and memory of :mod:`node_groups`.

LOAD is at least :data:`MIN_LOAD`, and a trace that would need more than the 100,000 nodes a
cluster may have (:mod:`corral.model.limits`) is an error naming that limit, raised before any
node is built.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from corral.clusters.cluster import Cluster
from corral.clusters.node_groups import NodeNamer, node_group
from corral.model import MILLI, ConfigError, Job
from corral.model.limits import MAX_NODES

if TYPE_CHECKING:
    from corral.traces import Trace

GPUS_PER_NODE = 8
DEFAULT_LOAD = 0.8
MIN_LOAD = 0.01
"""Below 1% busy, a cluster is a hundred times bigger than the trace needs."""
AUTO = re.compile(r"auto(?::(.*))?")
FORM = f"auto[:LOAD] ({MIN_LOAD:g} <= LOAD <= 1, default {DEFAULT_LOAD:g})"
"""The accepted form, for error messages."""


def parse_auto(spec: str) -> float | None:
    """LOAD of an ``auto`` spec, or None when ``spec`` is not an ``auto`` spec."""
    match = AUTO.fullmatch(spec)
    if match is None:
        return None
    if match[1] is None:
        return DEFAULT_LOAD
    try:
        load = float(match[1])
    except ValueError:
        load = math.nan
    if not MIN_LOAD <= load <= 1:
        raise ConfigError(f"cluster {spec[:40]!r}: LOAD must be a number in [{MIN_LOAD:g}, 1], "
                          f"as in {FORM}")
    return load


def auto_cluster(trace: Trace | None, load: float = DEFAULT_LOAD) -> Cluster:
    """Size a cluster of 8-GPU nodes for ``trace`` (see the module docstring)."""
    if trace is None:
        raise ConfigError("cluster 'auto' is sized from a trace, and none was given")
    if not trace.jobs:
        raise ConfigError(f"cluster 'auto': trace {trace.name!r} has no jobs to size it by")
    jobs = trace.jobs
    work = sum(job.total_gpu_milli * (job.duration or 0.0) for job in jobs) / MILLI
    span = max(job.submit for job in jobs) - min(job.submit for job in jobs)
    if span <= 0:
        span = max(job.duration or 0.0 for job in jobs)
    by_load = work / (span * load * GPUS_PER_NODE) if span > 0 else 0.0
    largest = max(_nodes_needed(job) for job in jobs)
    if not by_load <= MAX_NODES or largest > MAX_NODES:
        need = f"its largest job needs {largest:,} nodes" if largest > MAX_NODES else \
            f"its work at load {load:g} needs more than {MAX_NODES:,} nodes"
        raise ConfigError(f"cluster 'auto:{load:g}': trace {trace.name!r} is too big to size a "
                          f"cluster by: {need} of {GPUS_PER_NODE} GPUs, and a cluster may have "
                          f"at most {MAX_NODES:,} (give a LOAD nearer 1, or a --cluster)")
    count = max(math.ceil(by_load), largest, 1)
    nodes = node_group(NodeNamer(), count, GPUS_PER_NODE)
    return Cluster(f"auto:{load:g} ({count}x{GPUS_PER_NODE})", tuple(nodes))


def _nodes_needed(job: Job) -> int:
    """8-GPU nodes the gang needs at least: ceil(its GPUs / 8)."""
    return math.ceil(job.total_gpu_milli / (MILLI * GPUS_PER_NODE))
