"""Prometheus metrics of the live scheduler, on its own registry (one per scheduler instance).

Names follow Prometheus conventions (``_total`` counters, ``_seconds`` histograms); GPU
amounts are in GPUs (fractions allowed), queue amounts in the resource's own unit as quotas
name it (GPUs, cores, MiB).
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from corral.core import ClusterState
from corral.model import CPU, GPU, MEMORY, MILLI

CYCLE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class SchedulerMetrics:
    """Every metric the scheduler exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.pending_jobs = Gauge("corral_pending_jobs", "Jobs (gangs or pods) waiting, by queue",
                                  ["queue"], registry=r)
        self.cycle_seconds = Histogram("corral_cycle_duration_seconds",
                                       "Time of one scheduling cycle (sync, decide, hand off)",
                                       buckets=CYCLE_BUCKETS, registry=r)
        self.bindings = Counter("corral_bindings_total", "Pod bindings, by result", ["result"],
                                registry=r)
        self.preemptions = Counter("corral_preemptions_total",
                                   "Jobs whose pods were evicted to make room", registry=r)
        self.gangs_undone = Counter("corral_gangs_undone_total",
                                    "Gangs evicted for staying partly bound past their timeout",
                                    registry=r)
        self.gpu_allocated = Gauge("corral_gpu_allocated", "GPUs allocated, by GPU type",
                                   ["gpu_type"], registry=r)
        self.gpu_capacity = Gauge("corral_gpu_capacity", "GPUs on usable nodes, by GPU type",
                                  ["gpu_type"], registry=r)
        self.queue_usage = Gauge("corral_queue_usage", "What a queue holds, by resource",
                                 ["queue", "resource"], registry=r)
        self.queue_quota = Gauge("corral_queue_quota", "A queue's guaranteed quota, by resource",
                                 ["queue", "resource"], registry=r)
        self.relists = Counter("corral_watch_relists_total",
                               "Full re-lists after a watch could not resume (410 Gone, errors)",
                               ["resource"], registry=r)
        self.leader = Gauge("corral_leader", "1 while this replica holds the Lease", registry=r)
        self.events_dropped = Counter("corral_events_dropped_total",
                                      "Events not written, by cause (queue_full, spam_filter, "
                                      "write_failed)", ["cause"], registry=r)
        self.overcommit_conflicts = Counter(
            "corral_overcommit_conflicts_total",
            "Times a node was found holding more GPU than it has (another scheduler bound "
            "onto GPUs Corral had booked)", registry=r)
        self.history_rows_dropped = Counter(
            "corral_history_rows_dropped_total",
            "Job-history rows not written, by cause (buffer_full: the oldest, while the "
            "database did not take them; rejected: refused on their own)", ["cause"], registry=r)
        self.overcommitted_nodes = Gauge("corral_overcommitted_nodes",
                                         "Nodes holding more GPU than they have now", registry=r)

    def observe_state(self, state: ClusterState | None, pending: Mapping[str, int]) -> None:
        """Refresh the gauges from the state (once per cycle: cheap numpy sums)."""
        self.pending_jobs.clear()
        for queue, count in pending.items():
            self.pending_jobs.labels(queue).set(count)
        if state is None:
            return
        used = state.gpu_count * MILLI - state.gpu_free.sum(axis=1)
        for i, gpu_type in enumerate(state.gpu_types):
            mask = state.node_type == i
            self.gpu_allocated.labels(gpu_type).set(float(used[mask].sum()) / MILLI)
            self.gpu_capacity.labels(gpu_type).set(float(state.gpu_count[mask].sum()))
        tree = state.queues
        if tree is None:
            return
        for name in tree.queues:
            held = state.usage.of_queue(name)
            for resource in (GPU, CPU, MEMORY):
                self.queue_usage.labels(name, resource).set(_unit(resource, held.get(resource, 0)))
            for resource, amount in tree.guarantee[name].items():
                self.queue_quota.labels(name, resource).set(_unit(resource, amount))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _unit(resource: str, amount: int) -> float:
    """Corral's integer units as the quota's own (GPUs and cores from milli; MiB as is)."""
    return amount / MILLI if resource != MEMORY else float(amount)
