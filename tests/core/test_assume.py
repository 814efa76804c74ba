"""The assume step books a cycle's decisions exactly as applying them one by one would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import preemptive_profile, scheduler
from corral.core import Preempt, Scheduler, Start
from corral.model import Job, Node

SHARES = [250, 500, 1000, 2000, 4000]


def snapshot(state):
    return (state.gpu_free.copy(), state.whole_free.copy(), state.cpu_free.copy(),
            state.mem_free.copy(), sorted(state.running), [j.id for j in state.pending],
            state.allocated_gpu_milli)


def same(a, b):
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
               for x, y in zip(a, b, strict=True))


def build(policy, nodes, jobs):
    sched = Scheduler(preemptive_profile()) if policy == "preemptive" else scheduler(policy)
    state = sched.new_state(nodes)
    for job in jobs:
        state.submit(job)
    return sched, state


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=4),
       st.lists(st.tuples(st.sampled_from(SHARES), st.integers(1, 3), st.integers(0, 2)),
                min_size=1, max_size=12),
       st.sampled_from(["fifo", "fifo-spread", "greedy", "preemptive", "tiresias", "srtf-oracle"]))
def test_assume_equals_applying_each_decision(node_gpus, specs, policy):
    nodes = [Node(f"n{i}", g, "GPU", 16_000, 64_000) for i, g in enumerate(node_gpus)]
    first = [Job(f"a{i}", 0.0, tasks=1 if m < 1000 else t, gpu_milli=m, cpu_milli=1000,
                 priority=0) for i, (m, t, _) in enumerate(specs)]
    second = [Job(f"b{i}", 1.0, tasks=1 if m < 1000 else t, gpu_milli=m, priority=p)
              for i, (m, t, p) in enumerate(specs)]
    results = []
    for assume in (False, True):
        sched, state = build(policy, nodes, first)
        for decision in sched.cycle(state, 0.0).decisions:
            state.start(decision.job_id, decision.placement, 0.0)
        for job in second:
            state.submit(job)
        before = snapshot(state)
        result = sched.cycle(state, 1.0, assume=assume)
        if not assume:
            assert same(before, snapshot(state)), "a cycle changed the snapshot"
            for d in result.decisions:
                if isinstance(d, Preempt):
                    state.preempt(d.job_id, 1.0)
            for d in result.decisions:
                if isinstance(d, Start):
                    state.start(d.job_id, d.placement, 1.0)
        results.append((result.decisions, snapshot(state)))
    (plain, after_plain), (assumed, after_assumed) = results
    assert plain == assumed
    assert same(after_plain, after_assumed)
