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
from corral.model import ConfigError
from corral.policies import load_policy
from corral.sim.config import SimConfig
from corral.sim.metrics import job_table, summary_figures, timeseries_table
from corral.sim.result import SUMMARY_KEYS, SimulationResult
from corral.sim.simulator import Simulator
from corral.traces import Trace, read_trace, scale_arrivals


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
) -> SimulationResult:
    """Replay *trace* (a path, a :class:`Trace`, or None for the bundled sample) on *cluster*
    (a preset, inline spec, ``auto[:LOAD]``, TOML file, or None for the trace's own cluster)
    under *policy* (a built-in name or a TOML file).

    *load* scales the arrival rate (2.0: jobs arrive twice as often) on the cluster the
    original trace sizes, so ``auto`` clusters stay put while the load changes.

    Returns the summary (the keys of ``summary.json``), the per-job table and the time series.
    Bad input raises a :class:`~corral.model.CorralError` naming the problem. The same inputs
    and *seed* give the same result, except the wall-clock fields ``sim_wall_s`` and
    ``jobs_per_s``.
    """
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1, got {limit}")
    loaded = trace if isinstance(trace, Trace) else read_trace(trace, strict=strict, limit=limit)
    built = cluster if isinstance(cluster, Cluster) else build_cluster(cluster, loaded)
    loaded = scale_arrivals(loaded, load)
    profile = load_policy(policy)
    sim = Simulator(Scheduler(profile), built.nodes, loaded.jobs, sim_config, progress)
    began = time.perf_counter()
    sim.run()
    wall = time.perf_counter() - began
    jobs = job_table([run for run in sim.runs if run.end >= 0], built.nodes)
    skipped = dict(loaded.skipped)
    if sim.rejected:
        skipped["does_not_fit_cluster"] = len(sim.rejected)
    if sim.unfinished:
        skipped["never_scheduled"] = len(sim.unfinished)
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
        "sim_wall_s": wall,
        "jobs_per_s": len(jobs) / wall if wall > 0 else 0.0,
        "seed": seed,
        "corral_version": __version__,
    }
    return SimulationResult({k: summary[k] for k in SUMMARY_KEYS}, jobs,
                            timeseries_table(sim.timeseries))
