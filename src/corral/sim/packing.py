"""FGD's packing experiment: tasks arrive one by one and never leave, until one no longer fits.

Weng et al., "Beware of Fragmentation" (USENIX ATC'23), §6: placement policies are compared by
letting a trace's tasks arrive in order on an empty cluster, each placed by the policy (or
failing), none ever finishing. After every arrival the experiment records the *arrived* load
(GPUs requested so far), the GPUs allocated and the expected fragmented GPUs (FGD's measure
under the trace's own task mix), all as percentages of the cluster's GPU capacity. The headline
figure is the allocation rate at the first task that fails to fit.

Each arrival runs the same scheduling core as the simulator (:meth:`Scheduler.cycle` with
``assume=True``) on a queue holding just that task. By default the run stops at the first
failure; with *until* it goes on to that arrived load (1.2 = 120% of capacity), as the paper's
figures do, skipping the tasks that fail. A trace that runs out first arrives again from its
start, as FGD's simulator inflates a workload by drawing more of its tasks. Tasks that fit no
node even on the empty cluster never arrive, and are counted apart.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from corral.clusters import Cluster, build_cluster
from corral.core import Profile, Scheduler, Start
from corral.core.fragmentation import TaskTypes
from corral.model import ConfigError, Job, Node
from corral.policies import load_policy
from corral.sim.fragmentation_tracker import FragmentationTracker
from corral.traces import Trace, read_trace

PACK_COLUMNS = ("policy", "arrival", "job_id", "arrived_pct", "allocated_pct", "frag_pct",
                "failed")
"""Columns of ``pack.csv``: one row per arrival and policy; percentages of GPU capacity."""

MAX_UNTIL = 10.0
"""The most arrived load (x cluster capacity) a run may be asked to reach."""


@dataclasses.dataclass(frozen=True)
class PackRun:
    """One policy's packing run: a row per arrival (:data:`PACK_COLUMNS`), the arrived load it
    was to reach past failures (None: it stopped at the first), and how many of the trace's
    tasks could never fit this cluster (left out)."""

    policy: str
    arrivals: pd.DataFrame
    until: float | None
    never_fit: int

    def first_failure(self) -> pd.Series | None:
        """The row of the first task that did not fit, or None if every task fitted."""
        failed = self.arrivals.index[self.arrivals["failed"]]
        return self.arrivals.loc[failed[0]] if len(failed) else None

    def at_load(self, percent: float) -> pd.Series | None:
        """The row of the arrival that brought the arrived load to *percent*, if reached."""
        reached = self.arrivals.index[self.arrivals["arrived_pct"] >= percent]
        return self.arrivals.loc[reached[0]] if len(reached) else None


def pack(trace: str | Path | Trace | None, policies: Sequence[str | Path],
         cluster: str | Path | Cluster | None = None, *, limit: int | None = None,
         until: float | None = None) -> list[PackRun]:
    """Run the packing experiment on *trace* (its first *limit* tasks; CPU-only tasks included,
    since they take the CPU that GPU tasks need) and *cluster* for each policy, in order.

    *until*: go on past failures to this arrived load, as a multiple of GPU capacity (None:
    stop at the first failure). Bad input raises a :class:`~corral.model.CorralError`.
    """
    if until is not None and not 0 < until <= MAX_UNTIL:
        raise ConfigError(f"until must be an arrived load in (0, {MAX_UNTIL:g}] (1.2 = 120% "
                          f"of GPU capacity), got {until:g}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1, got {limit}")
    profiles = _placement_policies(policies)
    loaded = trace if isinstance(trace, Trace) else read_trace(
        trace, limit=limit, include_cpu_jobs=True)
    built = cluster if isinstance(cluster, Cluster) else build_cluster(cluster, loaded)
    types = TaskTypes.of_jobs(loaded.jobs)
    return [pack_policy(profile, built.nodes, loaded.jobs, types, until) for profile in profiles]


def pack_policy(profile: Profile, nodes: Sequence[Node], jobs: Sequence[Job], types: TaskTypes,
                until: float | None = None) -> PackRun:
    """One policy's run; fragmentation is measured under *types* (the trace's task mix)."""
    scheduler = Scheduler(profile)
    state = scheduler.new_state(nodes)
    fitting = [job for job in jobs if state.ever_fits(job)]
    if not any(job.total_gpu_milli for job in fitting):
        raise ConfigError("no task of the trace asks for GPUs that this cluster could host: "
                          "there is nothing to pack")
    tracker = FragmentationTracker(state, types)
    capacity = state.total_gpu_milli
    scale = 100.0 / capacity
    goal = None if until is None else until * capacity
    rows = []
    arrived = 0
    for arrival, job in enumerate(_arrivals(fitting)):
        now = float(arrival)
        state.submit(job, now)
        for decision in scheduler.cycle(state, now, assume=True).decisions:
            if isinstance(decision, Start):
                tracker.touch(decision.placement)
        failed = job.id in state.pending
        if failed:
            state.withdraw(job.id)
        arrived += job.total_gpu_milli
        rows.append((profile.name, arrival, job.id, arrived * scale,
                     state.allocated_gpu_milli * scale, max(0.0, tracker.total) * scale, failed))
        if (failed and goal is None) or (goal is not None and arrived >= goal):
            break
    return PackRun(profile.name, pd.DataFrame.from_records(rows, columns=list(PACK_COLUMNS)),
                   until, len(jobs) - len(fitting))


def _placement_policies(policies: Sequence[str | Path]) -> list[Profile]:
    """Load the policies, refusing duplicates and preemption (tasks here never leave, so a
    policy that evicts them would not be measured on placement alone)."""
    if not policies:
        raise ConfigError("no policies to pack with")
    profiles: list[Profile] = []
    for policy in policies:
        profile = load_policy(policy)
        if any(p.name == profile.name for p in profiles):
            raise ConfigError(f"policy {profile.name!r} is given twice")
        if profile.post_filters:
            raise ConfigError(f"policy {profile.name!r} preempts (post_filter "
                              f"{', '.join(p.name for p in profile.post_filters)}); packing "
                              "compares placement, with tasks that never leave")
        profiles.append(profile)
    return profiles


def _arrivals(jobs: Sequence[Job]) -> Iterator[Job]:
    """The tasks in trace order, then again from the start (ids suffixed ``#2``, ``#3``...)
    for as long as the caller asks."""
    yield from jobs
    for round_ in itertools.count(2):
        for job in jobs:
            yield dataclasses.replace(job, id=f"{job.id}#{round_}")
