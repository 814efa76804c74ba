"""The failure cache never makes a job wait when it would in fact fit or could preempt."""

from __future__ import annotations

import gc

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import job, nodes, preemptive_profile, scheduler
from corral.core import Preempt, Scheduler, Start
from corral.model import Job, Node


def started(result):
    return [d.job_id for d in result.decisions if isinstance(d, Start)]


def test_a_higher_priority_job_of_a_cached_shape_still_preempts():
    sched = Scheduler(preemptive_profile())
    state = sched.new_state(nodes(2))
    state.submit(job("r", tasks=2))
    state.start("r", sched.cycle(state, 0).decisions[0].placement, 0)
    for j in (job("lo", 1, tasks=2), job("hi", 1, tasks=2, priority=2)):
        state.submit(j)
    result = sched.cycle(state, 1)
    assert [d.job_id for d in result.decisions if isinstance(d, Preempt)] == ["r"]
    assert started(result) == ["hi"]


def test_a_bind_that_never_happened_does_not_leave_jobs_waiting():
    # Without assume, the cycle's reservations are rolled back: if the backend then fails to
    # bind, the same jobs must be offered again, not skipped as "does not fit".
    sched = scheduler("greedy")
    state = sched.new_state(nodes(1))
    for name in "ab":
        state.submit(job(name))
    assert started(sched.cycle(state, 0)) == ["a"]
    assert started(sched.cycle(state, 1)) == ["a"]


def test_a_new_cluster_never_inherits_an_old_clusters_failures():
    sched = scheduler("fifo")
    for _ in range(5):
        full = sched.new_state(nodes(1))
        full.submit(job("r"))
        full.start("r", sched.cycle(full, 0).decisions[0].placement, 0)
        full.submit(job("x", 1))
        assert started(sched.cycle(full, 1)) == []
        del full
        gc.collect()  # invite CPython to reuse the old state's id for the next one
        fresh = sched.new_state(nodes(8))
        fresh.submit(job("x", 1))
        assert started(sched.cycle(fresh, 1)) == ["x"]


def test_a_large_fractional_gang_finds_the_one_node_that_holds_it():
    # 33 quarter-GPU tasks fit only the 16-GPU node; best fit prefers the 8-GPU one, which
    # holds 32. With a one-node limit the search must not waste its single pick there.
    sched = scheduler("fifo")
    state = sched.new_state(nodes(8, 16))
    state.submit(job("gang", tasks=33, gpus=0.25))
    (decision,) = sched.cycle(state, 0).decisions
    assert [g.node for g in decision.placement.grants] == [1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([1, 2, 4, 8, 16]), min_size=1, max_size=5),
       st.sampled_from([100, 250, 500, 1000, 2000, 4000]), st.integers(1, 40),
       st.sampled_from(["fifo", "fifo-spread", "greedy"]))
def test_a_job_that_fits_the_empty_cluster_starts_on_it(node_gpus, milli, tasks, policy):
    cluster = [Node(f"n{i}", g) for i, g in enumerate(node_gpus)]
    sched = scheduler(policy)
    state = sched.new_state(cluster)
    gang = Job("g", 0.0, tasks=tasks, gpu_milli=milli)
    state.submit(gang)
    result = sched.cycle(state, 0)
    assert bool(result.decisions) == state.ever_fits(gang), result.waiting
