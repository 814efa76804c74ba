"""A cycle that passes over groups known not to start decides exactly what a full walk does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import job, nodes, preemptive_profile, scheduler
from corral.core import Preempt, Scheduler, Start
from corral.core.pending_queue import PendingQueue


def test_walk_drops_a_group_and_revives_it_after_the_current_job():
    queue = PendingQueue(lambda j: (j.submit,), group=lambda j: j.gpus)
    for i, gpus in enumerate([2, 1, 2, 1, 2, 2]):
        queue.add(job(f"j{i}", i, gpus=gpus))
    walk = queue.walk()
    seen = [next(walk).id]          # j0 (2 GPUs)
    walk.drop()                     # no more 2-GPU jobs ...
    seen += [next(walk).id, next(walk).id]  # j1, j3
    walk.revive()                   # ... until now: j2 was passed over, j4 and j5 come back
    seen += [j.id for j in walk]
    assert seen == ["j0", "j1", "j3", "j4", "j5"]


def test_head_and_iteration_merge_the_groups():
    queue = PendingQueue(lambda j: (-j.priority, j.submit), group=lambda j: j.tasks)
    for i, (tasks, prio) in enumerate([(1, 0), (2, 5), (1, 5), (3, 1)]):
        queue.add(job(f"j{i}", i, tasks=tasks, priority=prio))
    assert [j.id for j in queue] == ["j1", "j2", "j3", "j0"]
    assert queue.head().id == "j1"


@pytest.mark.parametrize("explain", [True, False])
def test_a_group_passed_over_comes_back_when_a_preemption_frees_capacity(explain):
    sched = Scheduler(preemptive_profile())
    state = sched.new_state(nodes(8))
    state.submit(job("r", tasks=8))
    state.start("r", sched.cycle(state, 0).decisions[0].placement, 0)
    state.submit(job("a", 1, gpus=2))           # no room, cannot preempt r: its group is passed
    state.submit(job("b", 2, tasks=4, priority=2))  # preempts r, leaves 4 GPUs free
    state.submit(job("c", 3, gpus=2))           # a's group again: fits now
    result = sched.cycle(state, 5, assume=True, explain=explain)
    assert [(type(d).__name__, d.job_id) for d in result.decisions] == [
        ("Preempt", "r"), ("Start", "b"), ("Start", "c")]


JOBS = st.lists(st.tuples(st.sampled_from([1, 2, 4, 8]), st.sampled_from([0.5, 1]),
                          st.integers(0, 2), st.integers(1, 400)),
                min_size=5, max_size=40)


def replay(sched: Scheduler, specs, explain: bool) -> list[list[tuple[str, str]]]:
    """Submit jobs in batches, run cycles (finishing the oldest runs between them); every
    cycle's decisions."""
    state = sched.new_state(nodes(8, 8, 4, 2))
    decided: list[list[tuple[str, str]]] = []
    t = 0.0
    for i, (tasks, gpus, prio, duration) in enumerate(specs):
        state.submit(job(f"j{i}", t, tasks=tasks if gpus == 1 else 1, gpus=gpus,
                         priority=prio, duration=duration))
        if i % 3 == 2:
            t += 50.0
            for run in sorted(state.running.values(), key=lambda r: r.since)[:1]:
                state.finish(run.job.id, t)
            result = sched.cycle(state, t, assume=True, explain=explain)
            decided.append([(type(d).__name__, d.job_id) for d in result.decisions])
            assert all(isinstance(d, Start | Preempt) for d in result.decisions)
    return decided


@pytest.mark.parametrize("policy", ["greedy", "tiresias", "predicted-sjf", "preemptive"])
@settings(max_examples=30, deadline=None)
@given(specs=JOBS)
def test_passing_over_groups_changes_no_decision(policy, specs):
    def make() -> Scheduler:
        return Scheduler(preemptive_profile()) if policy == "preemptive" else scheduler(policy)

    assert replay(make(), specs, explain=False) == replay(make(), specs, explain=True)
