"""Elastic gangs in the core: started between their minimum and their size, grown into idle
GPUs, shrunk or moved before anything is preempted, and booked at the size they run at."""

from __future__ import annotations

import pytest

from builders import job, nodes, scheduler
from corral.core import Code, NodeGrant, Placement, Preempt, Resize, Start
from corral.model import MILLI, InvalidSpec


def place_whole(state, job_id, node, gpus, now=0.0):
    """Start *job_id* on the first free whole GPUs named by *gpus* of *node*."""
    state.start(job_id, Placement((NodeGrant(node, len(gpus), tuple(gpus), MILLI),)), now)


@pytest.mark.parametrize(("min_tasks", "started_tasks"), [(5, 6), (6, 6), (7, None), (0, None)],
                         ids=["min5", "min6", "min7-waits", "rigid-waits"])
def test_a_gang_starts_with_what_fits_and_never_below_its_minimum(min_tasks, started_tasks):
    sched = scheduler("fifo")
    state = sched.new_state(nodes(4, 4))
    state.submit(job("busy", tasks=2))
    place_whole(state, "busy", 1, [0, 1])
    state.submit(job("g", tasks=8, min_tasks=min_tasks))
    result = sched.cycle(state, 0.0, assume=True)
    if started_tasks is None:
        assert not result.decisions
        assert result.waiting["g"].code is Code.UNSCHEDULABLE
        assert state.allocated_gpu_milli == 2 * MILLI
    else:
        assert [d.placement.tasks for d in result.decisions] == [started_tasks]
        assert state.running["g"].job.tasks == started_tasks
        assert state.allocated_gpu_milli == (2 + started_tasks) * MILLI


@pytest.mark.parametrize("policy", ["fifo", "tiresias", "corral-elastic", "pollux"])
def test_the_gang_permit_refuses_fewer_members_than_the_minimum(policy):
    # 8 GPUs free, but at most 2 members per node: 4 placeable, the minimum is 5.
    sched = scheduler(policy)
    state = sched.new_state(nodes(4, 4, 4))
    state.submit(job("busy", tasks=4, preemptible=False))
    place_whole(state, "busy", 2, range(4))
    state.submit(job("g", tasks=8, min_tasks=5, max_tasks_per_node=2))
    result = sched.cycle(state, 0.0, assume=True)
    assert not result.decisions and "gang 4/5 placeable" in result.waiting["g"].message
    assert list(state.running) == ["busy"]


def test_a_preempted_elastic_gang_waits_at_the_size_it_asked_for():
    sched = scheduler("fifo")
    state = sched.new_state(nodes(4))
    state.submit(job("g", tasks=6, min_tasks=2))
    sched.cycle(state, 0.0, assume=True)
    assert state.running["g"].job.tasks == 4
    state.preempt("g", 10.0)
    assert [j.tasks for j in state.pending] == [6]
    assert state.attained["g"] == pytest.approx(40.0)  # 4 GPUs for 10 s


def test_shrink_before_preempt():
    """A job the order ranks behind gives up members down to its minimum, not its gang."""
    for policy, expect in (("corral-elastic", Resize), ("corral", Preempt)):
        sched = scheduler(policy)
        state = sched.new_state(nodes(8))
        state.submit(job("old", tasks=4, min_tasks=2, max_tasks=8))
        place_whole(state, "old", 0, range(4))
        state.submit(job("new", 2000.0, tasks=6))
        result = sched.cycle(state, 2000.0, assume=True)
        kinds = [type(d) for d in result.decisions]
        assert kinds == [expect, Start], (policy, result.decisions)
        if expect is Resize:
            assert result.decisions[0].placement.tasks == 2
            assert state.running["old"].job.tasks == 2
            assert state.running["old"].placement.grants[0].gpus == (0, 1)  # newest left
            assert state.allocated_gpu_milli == 8 * MILLI
            assert state.attained["old"] == pytest.approx(4 * 2000.0)


def test_loans_of_idle_gpus_come_back_first_even_from_jobs_ahead():
    sched = scheduler("corral-elastic")
    state = sched.new_state(nodes(8))
    state.submit(job("grown", tasks=2, min_tasks=2, max_tasks=8))
    place_whole(state, "grown", 0, range(8))
    state.submit(job("next", 1.0, tasks=3))
    result = sched.cycle(state, 1.0, assume=True)
    assert [type(d) for d in result.decisions] == [Resize, Start]
    assert state.running["grown"].job.tasks == 2  # back to the size it asked for


def test_elastic_jobs_grow_into_idle_gpus_once_they_ran_long_enough():
    sched = scheduler("corral-elastic")
    state = sched.new_state(nodes(8))
    state.submit(job("a", tasks=2, max_tasks=8))
    place_whole(state, "a", 0, range(2))
    assert not sched.cycle(state, 100.0, assume=True).decisions  # ran 100 s < grow_after_s
    result = sched.cycle(state, 600.0, assume=True)
    assert [(type(d), d.placement.tasks) for d in result.decisions] == [(Resize, 8)]
    assert state.running["a"].job.tasks == 8 and state.allocated_gpu_milli == 8 * MILLI


def test_nothing_grows_while_a_job_waits_for_capacity():
    sched = scheduler("corral-elastic")
    state = sched.new_state(nodes(4, 4))
    state.submit(job("a", tasks=2, max_tasks=4, preemptible=False))
    place_whole(state, "a", 0, range(2))
    state.submit(job("b", tasks=3, preemptible=False))
    place_whole(state, "b", 1, range(3))
    state.submit(job("gang", 1000.0, tasks=4))  # 3 GPUs free, none of them together
    result = sched.cycle(state, 1000.0, assume=True)
    assert not result.decisions and "gang" in result.waiting


def test_goodput_spreads_idle_gpus_where_order_concentrates_them():
    placed = {}
    for policy in ("corral-elastic", "pollux"):
        sched = scheduler(policy)
        state = sched.new_state(nodes(4))
        for name, gpu in (("a", 0), ("b", 1)):
            state.submit(job(name, tasks=1, max_tasks=4))
            place_whole(state, name, 0, [gpu])
        sched.cycle(state, 1000.0, assume=True)
        placed[policy] = sorted(run.job.tasks for run in state.running.values())
    assert placed == {"corral-elastic": [1, 3], "pollux": [2, 2]}


def test_migration_clears_a_node_for_a_gang_instead_of_preempting():
    for policy, moves in (("defrag", True), ("corral", False)):
        sched = scheduler(policy)
        state = sched.new_state(nodes(4, 4))
        state.submit(job("x", tasks=1))
        place_whole(state, "x", 0, [0])
        state.submit(job("y", tasks=1))
        place_whole(state, "y", 1, [0])
        state.submit(job("gang", 5000.0, tasks=4))
        result = sched.cycle(state, 5000.0, assume=True)
        if not moves:  # without MigrationDefrag nothing moves (corral may preempt instead)
            assert not any(isinstance(d, Resize) for d in result.decisions)
            continue
        assert [type(d) for d in result.decisions] == [Resize, Start]
        moved = result.decisions[0]
        assert moved.placement.tasks == 1 and moved.placement.nodes != placed_before(moved.job_id)
        assert len(state.running) == 3 and state.allocated_gpu_milli == 6 * MILLI


def placed_before(job_id):
    """Where the migration test placed each small job first."""
    return {"x": (0,), "y": (1,)}[job_id]


def test_with_tasks_stays_in_the_range():
    elastic = job("e", tasks=4, min_tasks=2, max_tasks=6)
    assert elastic.with_tasks(6).total_gpu_milli == 6 * MILLI
    with pytest.raises(InvalidSpec, match="outside its range 2-6"):
        elastic.with_tasks(1)
