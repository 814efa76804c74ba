"""Replaying several clusters' traces behind one dispatcher.

Each cluster is a :class:`~corral.sim.simulator.Simulator` of its own (its nodes, its policy,
its core); the dispatcher sees every job when it is submitted to its home cluster and hands it
to one cluster by the dispatch policy. A job sent elsewhere arrives there after the
cross-cluster delay plus, unless that cluster's data cache holds its data, the data-transfer
time: its data is staged before it queues. Its JCT and queueing delay count from the original
submission, so moving is never free.

The clusters advance in lock-step: before the jobs submitted at *t* are dispatched, every
cluster has processed each instant before *t*, so the policy sees their state as of then (a
completion at *t* itself shows at the next dispatch). With ``home`` every cluster replays
exactly what ``corral simulate`` replays on it alone.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from corral import __version__
from corral.clusters import Cluster, build_cluster
from corral.core import Scheduler
from corral.model import MILLI, Job
from corral.multicluster.cluster_set import ClusterSet, DispatchSettings, MemberCluster
from corral.multicluster.dispatch_policies import (
    DEFAULT_RUN_S,
    ClusterView,
    Policy,
    dispatch_policy,
)
from corral.multicluster.dispatch_policies import home as stay_home
from corral.policies import load_policy
from corral.sim.config import SimConfig
from corral.sim.metrics import job_table, summary_figures
from corral.sim.simulator import Simulator
from corral.traces import read_trace

CLUSTER_COLUMNS = ("cluster", "policy", "gpus", "gpu_cost", "jobs_submitted", "jobs_run",
                   "moved_in", "moved_out", "avg_jct", "avg_queue_delay", "gpu_alloc_rate",
                   "gpu_hours", "cost")
"""Columns of ``clusters.csv``: ``avg_jct`` and ``avg_queue_delay`` are over the jobs submitted
to the cluster (what its users saw, wherever the jobs ran); ``gpu_alloc_rate`` over the whole
replay's span; ``cost`` = allocated GPU-hours x ``gpu_cost``."""

SUMMARY_KEYS = ("dispatch", "clusters", "gpus", "jobs", "moved", "skipped", "avg_jct",
                "p50_jct", "p95_jct", "p99_jct", "avg_queue_delay", "p95_queue_delay",
                "avg_bounded_slowdown", "makespan", "gpu_alloc_rate", "jain_fairness", "cost",
                "sim_cpu_s", "corral_version")
"""Keys of a multi-cluster ``summary.json``; ``jain_fairness`` is Jain's index over the home
clusters' mean bounded slowdown (1: every cluster's users slowed alike)."""


@dataclass(frozen=True)
class MultiClusterResult:
    """The whole replay's figures, one row per cluster, and one row per finished job (with
    its ``home`` and the ``cluster`` it ran on)."""

    summary: dict[str, Any]
    clusters: pd.DataFrame
    jobs: pd.DataFrame


@dataclass
class _Member:
    spec: MemberCluster
    cluster: Cluster
    sim: Simulator
    jobs: list[Job]
    skipped: dict[str, int]
    cache: OrderedDict[str, None]
    """Datasets its training-data cache holds, least recently used first."""


def replay(cluster_set: ClusterSet, *, dispatch: str | None = None, limit: int | None = None,
           sim_config: SimConfig | None = None) -> MultiClusterResult:
    """Replay every cluster's trace (its first *limit* jobs each) under *dispatch* (default:
    the file's ``dispatch.policy``)."""
    settings = cluster_set.dispatch
    policy_name = dispatch or settings.policy
    policy = dispatch_policy(policy_name)
    traces = [read_trace(spec.trace, limit=limit) for spec in cluster_set.clusters]
    mix = [job for trace in traces for job in trace.jobs]
    members = []
    for spec, trace in zip(cluster_set.clusters, traces, strict=True):
        cluster = build_cluster(spec.nodes, trace)
        sim = Simulator(Scheduler(load_policy(spec.policy)), cluster.nodes, [], sim_config,
                        task_mix=mix)
        jobs = [replace(job, id=f"{spec.name}/{job.id}") for job in trace.jobs]
        members.append(_Member(spec, cluster, sim, jobs, dict(trace.skipped), OrderedDict()))
    began = time.process_time()
    moves = _run(members, policy, settings)
    cpu = time.process_time() - began
    return _result(members, moves, policy_name, cpu)


def _run(members: list[_Member], policy: Policy,
         settings: DispatchSettings) -> dict[str, tuple[int, int, float]]:
    """Dispatch every job; returns job id -> (home index, cluster index, seconds moving)."""
    submitted = sorted(((job.submit, h, job) for h, m in enumerate(members) for job in m.jobs),
                       key=lambda row: (row[0], row[1]))
    arrivals: list[tuple[float, int, int, Job]] = []
    seq = itertools.count()
    moves: dict[str, tuple[int, int, float]] = {}
    sims = [m.sim for m in members]
    for now, group in itertools.groupby(submitted, key=lambda row: row[0]):
        while arrivals and arrivals[0][0] <= now:
            _, _, target, job = heapq.heappop(arrivals)
            sims[target].feed(job)
        for sim in sims:
            if sim.next_instant() < now:
                sim.run_until(now)
        for _, h, job in group:
            target = h if policy is stay_home else _choose(members, h, job, policy, settings)
            moving = 0.0
            if target != h:
                moving = settings.delay_s + _stage(members[target], job, settings)
            moves[job.id] = (h, target, moving)
            arrival = job if not moving else replace(job, submit=job.submit + moving)
            heapq.heappush(arrivals, (arrival.submit, next(seq), target, arrival))
    while arrivals:
        _, _, target, job = heapq.heappop(arrivals)
        sims[target].feed(job)
    for sim in sims:
        sim.run()
    return moves


def _choose(members: Sequence[_Member], home: int, job: Job, policy: Policy,
            settings: DispatchSettings) -> int:
    """The index of the cluster *policy* picks among those *job* fits (home if none)."""
    views, index = [], {}
    key = job.dataset or job.id
    for i, m in enumerate(members):
        state = m.sim.state
        if not state.ever_fits(job):
            continue
        sim = m.sim
        index[m.spec.name] = i
        views.append(ClusterView(
            name=m.spec.name,
            gpus=state.total_gpu_milli // MILLI,
            free_gpus=int(state.whole_free[state.allowed_mask(job)].sum()),
            queued_gpus=sim.queued_gpu_milli / MILLI,
            mean_run_s=sim.finished_run_s / sim.finished_jobs if sim.finished_jobs
            else DEFAULT_RUN_S,
            gpu_cost=m.spec.gpu_cost,
            holds_data=i == home or key in m.cache,
        ))
    if not views:
        return home
    return index[policy(job.total_gpu_milli / MILLI, members[home].spec.name, views, settings)]


def _stage(member: _Member, job: Job, settings: DispatchSettings) -> float:
    """Seconds to bring *job*'s data to *member* (0 if its cache holds it); it holds it after."""
    key = job.dataset or job.id
    cache = member.cache
    if key in cache:
        cache.move_to_end(key)
        return 0.0
    if settings.cache_datasets:
        cache[key] = None
        if len(cache) > settings.cache_datasets:
            cache.popitem(last=False)
    return settings.transfer_s()


def _result(members: list[_Member], moves: dict[str, tuple[int, int, float]], policy: str,
            cpu: float) -> MultiClusterResult:
    frames = []
    for m in members:
        table = job_table([run for run in m.sim.runs if run.end >= 0], m.cluster.nodes)
        info = [moves[job_id] for job_id in table["job_id"]]
        moving = np.array([row[2] for row in info], dtype=float)
        table["submit"] = table["submit"].to_numpy(dtype=float) - moving
        table["jct"] = table["jct"].to_numpy(dtype=float) + moving
        table["queue_delay"] = table["queue_delay"].to_numpy(dtype=float) + moving
        table.insert(1, "home", [members[row[0]].spec.name for row in info])
        table.insert(2, "cluster", m.spec.name)
        frames.append(table)
    jobs = pd.concat(frames, ignore_index=True).sort_values(["submit", "job_id"],
                                                            ignore_index=True)
    start = float(jobs["submit"].min()) if len(jobs) else 0.0
    span = float(jobs["end"].max()) - start if len(jobs) else 0.0
    rows = []
    for i, m in enumerate(members):
        mine = jobs[jobs["home"] == m.spec.name]
        gpus = m.cluster.gpus
        hours = m.sim.alloc_area / 3600.0
        rows.append((m.spec.name, m.spec.policy, gpus, m.spec.gpu_cost, len(m.jobs),
                     int((jobs["cluster"] == m.spec.name).sum()),
                     sum(1 for h, c, _ in moves.values() if c == i and h != i),
                     sum(1 for h, c, _ in moves.values() if h == i and c != i),
                     float(mine["jct"].mean()) if len(mine) else float("nan"),
                     float(mine["queue_delay"].mean()) if len(mine) else float("nan"),
                     m.sim.alloc_area / (span * gpus) if span > 0 else 0.0,
                     hours, hours * m.spec.gpu_cost))
    clusters = pd.DataFrame.from_records(rows, columns=list(CLUSTER_COLUMNS))
    skipped: dict[str, int] = {}
    for m in members:
        for reason, count in m.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
        for reason, lost in (("does_not_fit_cluster", m.sim.rejected),
                             ("never_scheduled", m.sim.unfinished)):
            if lost:
                skipped[reason] = skipped.get(reason, 0) + len(lost)
    total_gpus = sum(m.cluster.gpus for m in members)
    figures = summary_figures(jobs.assign(user="", queue=jobs["home"]),
                              sum(m.sim.alloc_area for m in members), total_gpus)
    summary = {
        "dispatch": policy,
        "clusters": len(members),
        "gpus": total_gpus,
        "jobs": len(jobs),
        "moved": int(clusters["moved_in"].sum()),
        "skipped": dict(sorted(skipped.items())),
        **{k: figures[k] for k in SUMMARY_KEYS if k in figures},
        "cost": float(clusters["cost"].sum()),
        "sim_cpu_s": cpu,
        "corral_version": __version__,
    }
    return MultiClusterResult({k: summary[k] for k in SUMMARY_KEYS}, clusters, jobs)
