"""Property tests for queues: ceilings hold at every instant, borrowed GPUs come back to a queue
that needs its guarantee, no gang runs partly, and no job waits forever under drf."""

from __future__ import annotations

from importlib import resources

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_invariants import CheckedSimulator

from corral.core import Scheduler
from corral.model import GPU, MILLI, Job, Node, Queue, QueueTree
from corral.policies import load_policy, parse_policy
from corral.sim.config import SimConfig
from corral.sim.simulator import Simulator

QUEUES = ("a", "b", "c")


@st.composite
def queued_workloads(draw, *, gangs: bool = True):
    cluster = [Node(f"n{i}", 4, "GPU", 64_000, 256_000) for i in range(draw(st.integers(1, 3)))]
    total = 4 * len(cluster)
    shares = draw(st.lists(st.integers(0, total), min_size=3, max_size=3))
    scale = min(1.0, total / max(1, sum(shares)))  # guarantees add up to at most the cluster
    queues = []
    for name, share in zip(QUEUES, shares, strict=True):
        limit = draw(st.sampled_from([None, 0, 1, 4]))
        queues.append(Queue(name, {GPU: int(share * scale) * MILLI},
                            borrowing_limit=None if limit is None else {GPU: limit * MILLI}))
    jobs, t = [], 0
    for i in range(draw(st.integers(1, 30))):
        t += draw(st.integers(0, 40))
        tasks = draw(st.integers(1, 3)) if gangs else 1
        milli = draw(st.sampled_from([500, 1000, 2000])) if gangs else MILLI
        jobs.append(Job(f"j{i}", float(t), tasks=tasks, gpu_milli=milli,
                        queue=draw(st.sampled_from(QUEUES)), user=draw(st.sampled_from("xy")),
                        priority=draw(st.integers(0, 1)),
                        duration=float(draw(st.integers(1, 300)))))
    return cluster, QueueTree(queues), jobs


class QuotaCheckedSimulator(CheckedSimulator):
    """Also checks queue usage against the running jobs and every queue's ceiling."""

    def check(self) -> None:
        super().check()
        state = self.state
        held: dict[str, int] = {}
        for run in state.running.values():
            held[run.job.queue] = held.get(run.job.queue, 0) + run.job.total_gpu_milli
        tree = state.queues
        for name in tree.leaves:
            assert state.usage.of_queue(name).get(GPU, 0) == held.get(name, 0)
            ceiling = tree.ceiling[name].get(GPU)
            if ceiling is not None:
                assert held.get(name, 0) <= ceiling, f"queue {name} above its ceiling"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queued_workloads())
def test_ceilings_hold_no_partial_gang_and_every_job_finishes(workload):
    cluster, queues, jobs = workload
    sim = QuotaCheckedSimulator(Scheduler(load_policy("drf")), cluster, jobs,
                                SimConfig(preemption_overhead_s=5), queues=queues)
    sim.run()
    fitting = {j.id for j in jobs} - {j.id for j in sim.rejected}
    finished = sorted(r.job.id for r in sim.runs if r.end >= 0)
    # Jobs above their queue's ceiling even on an empty cluster can never run; all others do.
    never = {j.id for j in jobs
             if (c := queues.ceiling[j.queue].get(GPU)) is not None and j.total_gpu_milli > c}
    assert finished == sorted(fitting - never), "a job starved, was lost or ran twice"
    assert not sim.state.running


def unprotected_drf() -> Scheduler:
    """The built-in drf policy with victims never protected, so every reclaim is possible."""
    toml = resources.files("corral.policies").joinpath("drf.toml").read_text(encoding="utf-8")
    toml += "\n[plugin_args.QueuePreemption]\nprotect_after = 1000000\n"
    return Scheduler(parse_policy(toml, "drf-unprotected"))


class ReclaimCheckedSimulator(Simulator):
    """After every cycle: a queue below its guarantee with jobs waiting means no other queue
    holds GPUs above its own guarantee (they would have been reclaimed)."""

    def _apply(self, result, now):
        super()._apply(result, now)
        state, tree = self.state, self.state.queues
        waiting = {job.queue for job in state.pending}
        for name in waiting:
            if state.usage.of_queue(name).get(GPU, 0) + MILLI <= tree.guarantee[name][GPU]:
                for other in tree.leaves:
                    assert state.usage.of_queue(other).get(GPU, 0) <= \
                        tree.guarantee[other][GPU], f"{other} kept borrowed GPUs from {name}"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queued_workloads(gangs=False))
def test_borrowed_gpus_are_reclaimed_for_a_queue_below_its_guarantee(workload):
    cluster, queues, jobs = workload
    sim = ReclaimCheckedSimulator(unprotected_drf(), cluster, jobs,
                                  SimConfig(preemption_overhead_s=5), queues=queues)
    sim.run()
    assert not sim.state.running
