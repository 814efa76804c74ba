"""The Python API: one call replays a trace on a cluster under a policy.

The CLI is a thin layer over this module, so notebooks and scripts get exactly what
``corral simulate`` computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from corral import __version__
from corral.clusters import Cluster, build_cluster
from corral.core import Scheduler
from corral.model import ConfigError, QueueTree
from corral.policies import load_policy
from corral.queues import build_queues
from corral.sim.config import SimConfig
from corral.sim.finished_jobs import FinishedJobs
from corral.sim.metrics import (
    guarantees_met,
    queue_series_table,
    queue_table,
    summary_figures,
    timeseries_table,
)
from corral.sim.result import SUMMARY_KEYS, SimulationResult
from corral.sim.simulator import Simulator
from corral.traces import Trace, read_trace, reorder_arrivals, scale_arrivals


def simulate(
    trace: str | Path | Trace | None = None,
    *,
    policy: str | Path = "fifo",
    cluster: str | Path | Cluster | None = None,
    seed: int = 0,
    limit: int | None = None,
    strict: bool = False,
    sim_config: SimConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    load: float = 1.0,
    queues: str | Path | QueueTree | None = None,
) -> SimulationResult:
    """Replay *trace* (a path, a :class:`Trace`, or None for the bundled sample) on *cluster*
    (a preset, inline spec, ``auto[:LOAD]``, TOML file, or None for the trace's own cluster)
    under *policy* (a built-in name or a TOML file).

    *queues* sets the queue hierarchy with quotas: a TOML file, ``"auto"`` (one queue per trace
    queue, guaranteed its share of the trace's GPU-time) or a :class:`QueueTree`; None means
    no quotas (each queue a job names stands alone, for fair share only).

    *load* scales the arrival rate (2.0: jobs arrive twice as often) on the cluster the
    original trace sizes, so ``auto`` clusters stay put while the load changes. *seed* 0
    replays the trace as recorded; any other seed deals its jobs to its arrival times in an
    order drawn from the seed (see :mod:`corral.traces.arrival_order`).

    Returns the summary (the keys of ``summary.json``), the per-job table and the time series.
    Bad input raises a :class:`~corral.model.CorralError` naming the problem. The same inputs
    and *seed* give the same result, except the wall-clock fields ``sim_wall_s`` and
    ``jobs_per_s``.
    """
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1, got {limit}")
    loaded = trace if isinstance(trace, Trace) else read_trace(trace, strict=strict, limit=limit)
    built = cluster if isinstance(cluster, Cluster) else build_cluster(cluster, loaded)
    tree = build_queues(queues, loaded.jobs, built.gpus)
    loaded = scale_arrivals(reorder_arrivals(loaded, seed), load)
    profile = load_policy(policy)
    finished = FinishedJobs(built.nodes)
    sim = Simulator(Scheduler(profile), built.nodes, loaded.jobs, sim_config, progress, tree,
                    finished_record=finished)
    began = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - began
    jobs = finished.frame()
    skipped = dict(loaded.skipped)
    if sim.rejected:
        skipped["does_not_fit_cluster"] = len(sim.rejected)
    if sim.unknown_queue:
        skipped["unknown_queue"] = len(sim.unknown_queue)
    if sim.unfinished:
        skipped["never_scheduled"] = len(sim.unfinished)
    queue_series = queue_series_table(sim.queue_series)
    end = float(jobs["end"].max()) if len(jobs) else 0.0
    per_queue = queue_table(jobs, queue_series, tree.report_quotas() if tree else {}, end)
    summary = {
        "trace": loaded.name,
        "policy": profile.name,
        "cluster": built.name,
        "load": load,
        "gpus": built.gpus,
        "jobs": len(jobs),
        "skipped": dict(sorted(skipped.items())),
        **summary_figures(jobs, sim.alloc_area, built.gpus, sim.frag_area),
        "preemptions": sim.preemptions,
        "resizes": sim.resizes,
        "migrations": sim.migrations,
        "resize_overhead_s": sim.resize_overhead,
        "queue_share_met": guarantees_met(per_queue),
        "sim_wall_s": wall,
        "jobs_per_s": len(jobs) / wall if wall > 0 else 0.0,
        "seed": seed,
        "corral_version": __version__,
    }
    return SimulationResult({k: summary[k] for k in SUMMARY_KEYS}, jobs,
                            timeseries_table(sim.timeseries), queue_series, per_queue)
