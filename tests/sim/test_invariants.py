"""Property tests: whatever the workload, no GPU is over-allocated, no gang runs below its
minimum or beyond its maximum, every job finishes exactly once, and the time identities hold
(resizes and migrations included)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import preemptive_profile, scheduler
from corral.core import Scheduler
from corral.model import MILLI, Job, Node
from corral.sim.config import SimConfig
from corral.sim.metrics import job_table
from corral.sim.simulator import Simulator

GPU_SHARES = [100, 250, 500, 1000, 2000, 4000, 8000]


@st.composite
def workloads(draw):
    node_gpus = draw(st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=5))
    types = draw(st.lists(st.sampled_from(["A", "B"]), min_size=len(node_gpus),
                          max_size=len(node_gpus)))
    cluster = [Node(f"n{i}", g, t, 32_000, 256_000)
               for i, (g, t) in enumerate(zip(node_gpus, types, strict=True))]
    jobs, t = [], 0
    for i in range(draw(st.integers(1, 25))):
        t += draw(st.integers(0, 50))
        milli = draw(st.sampled_from(GPU_SHARES))
        tasks = 1 if milli < MILLI else draw(st.integers(1, 4))
        elastic = draw(st.booleans())
        jobs.append(Job(
            f"j{i}", float(t), tasks=tasks, gpu_milli=milli,
            cpu_milli=draw(st.sampled_from([0, 1000, 8000])),
            gpu_types=draw(st.sampled_from([(), ("A",), ("B",)])),
            priority=draw(st.integers(0, 2)),
            duration=float(draw(st.integers(1, 400))),
            min_tasks=draw(st.integers(1, tasks)) if elastic else 0,
            max_tasks=draw(st.integers(tasks, 2 * tasks)) if elastic else 0,
        ))
    return cluster, jobs


class CheckedSimulator(Simulator):
    """Checks the cluster state against the running jobs after every change."""

    def _apply(self, result, now):
        super()._apply(result, now)
        self.check()

    def _finish(self, run, now):
        super()._finish(run, now)
        self.check()

    def check(self) -> None:
        state = self.state
        used = np.zeros_like(state.gpu_free)
        whole = np.zeros_like(state.gpu_free, dtype=bool)
        cpu = np.zeros_like(state.cpu_free)
        for run in state.running.values():
            job, placement = run.job, run.placement
            assert placement.tasks == job.tasks, "running job booked at another size"
            assert job.min_tasks <= job.tasks <= job.max_tasks, "gang outside its range"
            assert self._by_id[job.id].job.min_tasks <= job.tasks, "gang below its minimum"
            for grant in placement.grants:
                node = state.nodes[grant.node]
                assert not job.gpu_types or node.gpu_type in job.gpu_types
                per_task = max(1, job.gpu_milli // MILLI)
                assert len(grant.gpus) == grant.tasks * per_task
                for gpu in grant.gpus:
                    assert gpu < node.gpus
                    used[grant.node, gpu] += grant.milli
                    if grant.milli == MILLI:
                        assert not whole[grant.node, gpu], "whole GPU given twice"
                        whole[grant.node, gpu] = True
                cpu[grant.node] += grant.tasks * job.cpu_milli
        capacity = np.array([[MILLI if g < n.gpus else 0 for g in range(state.gpu_free.shape[1])]
                             for n in state.nodes])
        assert (used <= capacity).all(), "GPU over-allocated"
        assert (~whole | (used == MILLI)).all(), "a whole GPU shared with a fraction"
        assert np.array_equal(state.gpu_free, capacity - used)
        assert np.array_equal(state.whole_free, (state.gpu_free == MILLI).sum(axis=1))
        assert np.array_equal(state.cpu_free, state.cpu_capacity - cpu)
        assert (state.cpu_free >= 0).all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads(), st.sampled_from(["fifo", "fifo-spread", "greedy", "preemptive", "tiresias",
                                    "priority-preempt", "backfill-oracle",
                                    "srtf-oracle", "drf", "gavel", "corral-elastic", "pollux",
                                    "defrag"]))
def test_invariants_hold_for_any_workload(workload, policy):
    cluster, jobs = workload
    sched = Scheduler(preemptive_profile()) if policy == "preemptive" else scheduler(policy)
    config = SimConfig(preemption_overhead_s=7, resize_overhead_s=5, migration_overhead_s=3)
    sim = CheckedSimulator(sched, cluster, jobs, config)
    sim.run()
    fitting = {j.id for j in jobs} - {j.id for j in sim.rejected}
    finished = [r for r in sim.runs if r.end >= 0]
    assert sorted(r.job.id for r in finished) == sorted(fitting), "a job lost or run twice"
    assert not sim.state.running and not sim.state.pending
    table = job_table(finished, sim.state.nodes)
    for row in table.itertuples():
        assert row.start >= row.submit and row.end >= row.start
        assert math.isclose(row.jct, row.queue_delay + row.run_time + row.overhead,
                            rel_tol=1e-9, abs_tol=1e-6)
        if row.preemptions == 0 and row.resizes == 0 and row.migrations == 0:
            assert row.overhead == 0
    assert sim.state.allocated_gpu_milli == 0
    assert sim.resizes == sum(r.resizes for r in finished)
    assert sim.migrations == sum(r.migrations for r in finished)
    assert math.isclose(sim.resize_overhead, 5 * sim.resizes + 3 * sim.migrations)
