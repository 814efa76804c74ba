"""The scheduling cycle on tiny clusters where the right answer is obvious."""

from __future__ import annotations

import numpy as np
import pytest

from builders import job, nodes, preemptive_profile, scheduler
from corral.core import Code, Preempt, Scheduler, Start
from corral.model import MILLI, Node


def run_cycle(policy, cluster_nodes, pending, running=(), now=0.0):
    """Submit *running* jobs and start them where the policy puts them, then queue *pending*
    and return the next cycle's result and the state."""
    sched = policy if isinstance(policy, Scheduler) else scheduler(policy)
    state = sched.new_state(cluster_nodes)
    for j in running:
        state.submit(j)
        result = sched.cycle(state, now)
        assert [d.job_id for d in result.decisions] == [j.id], result.waiting
        state.start(j.id, result.decisions[0].placement, now)
    for j in pending:
        state.submit(j)
    return sched.cycle(state, now), state


def placed_nodes(result, job_id):
    start = next(d for d in result.decisions if isinstance(d, Start) and d.job_id == job_id)
    return [(g.node, g.tasks) for g in start.placement.grants]


def test_best_fit_picks_the_tightest_node():
    # a (5) lands on n0, b (6) on n1: free is n0 3, n1 2, n2 8. A 2-GPU job fits n1 exactly.
    result, _ = run_cycle("fifo", nodes(8, 8, 8), [job("x", tasks=2)],
                          running=[job("a", tasks=5), job("b", tasks=6)])
    assert placed_nodes(result, "x") == [(1, 2)]


def test_spread_picks_the_emptiest_node():
    # a goes to n0 (all empty: the first), b to the emptiest (n1), so x goes to n2.
    result, _ = run_cycle("fifo-spread", nodes(8, 8, 8), [job("x")],
                          running=[job("a", tasks=5), job("b", tasks=6)])
    assert placed_nodes(result, "x") == [(2, 1)]


def test_gang_is_consolidated_on_one_node_when_it_fits():
    result, _ = run_cycle("fifo", nodes(8, 8), [job("x", tasks=4)], running=[job("a", tasks=2)])
    assert placed_nodes(result, "x") == [(0, 4)]


def test_large_gang_takes_whole_nodes_then_the_tightest_remainder():
    # 12 one-GPU tasks: a whole free node (8) and the remainder (4) on the tightest node.
    result, _ = run_cycle("fifo", nodes(8, 8, 8), [job("x", tasks=12)],
                          running=[job("a", tasks=3), job("b", tasks=4)])
    # a (3) and then b (4) both fit n0 best, leaving n1 and n2 empty for the gang.
    grants = placed_nodes(result, "x")
    assert sum(t for _, t in grants) == 12 and len(grants) == 2
    assert (grants[0][1], grants[1][1]) == (8, 4)


def test_consolidated_policy_refuses_a_needlessly_spread_gang():
    # 4 free GPUs exist, but 2 + 2 on two nodes: fifo waits, fifo-spread runs it.
    running = [job("a", tasks=6), job("b", tasks=6)]
    result, _ = run_cycle("fifo", nodes(8, 8), [job("x", tasks=4)], running=running)
    assert not result.decisions
    assert "needs 4 GPUs on one node; at most 2 free" in result.waiting["x"].message
    result, _ = run_cycle("fifo-spread", nodes(8, 8), [job("x", tasks=4)], running=running)
    assert len(placed_nodes(result, "x")) == 2


def test_strict_gang_leaves_no_reservation_behind():
    # 3 free GPUs on each node: a gang of 3 x 2 GPUs finds room for 2 tasks only. The greedy
    # policy moves on, and a 3-GPU job then starts where the failed gang would have gone.
    pending = [job("big", tasks=3, gpus=2), job("small", tasks=3)]
    result, _ = run_cycle("greedy", nodes(8, 8), pending,
                          running=[job("a", tasks=5), job("b", tasks=5)])
    assert [d.job_id for d in result.decisions] == ["small"]
    assert result.waiting["big"].code is Code.UNSCHEDULABLE
    assert "needs 6 GPUs on one node; at most 3 free" in result.waiting["big"].message


def test_a_gang_that_may_span_nodes_reports_how_much_of_it_fits():
    result, _ = run_cycle("fifo-spread", nodes(8, 8), [job("big", tasks=3, gpus=2)],
                          running=[job("a", tasks=5), job("b", tasks=5)])
    assert "gang 2/3 placeable: needs 3 x 2 GPU, largest fit 1" in result.waiting["big"].message


def test_a_locality_cap_beyond_one_node_is_enforced_by_its_permit():
    # Three 6-GPU nodes of distinct types, each with 4 GPUs free (pinned jobs hold 2): a gang
    # of 9 one-GPU tasks could use 2 nodes on an empty cluster, but now needs all 3.
    cluster = [Node(f"n{i}", 6, t) for i, t in enumerate("ABC")]
    pinned = [job(f"r{t}", tasks=2, gpu_types=(t,)) for t in "ABC"]
    result, _ = run_cycle("fifo", cluster, [job("x", tasks=9)], running=pinned)
    assert "would span 3 nodes; at most 2 allowed" in result.waiting["x"].message
def test_a_gang_larger_than_all_free_gpus_is_refused_without_a_search():
    result, _ = run_cycle("greedy", nodes(8, 8), [job("big", tasks=10)],
                          running=[job("a", tasks=1), job("b", tasks=8)])
    assert "needs 10 GPUs; 7 free in the whole cluster" in result.waiting["big"].message


def test_blocking_fifo_stops_at_the_first_job_that_does_not_fit():
    result, _ = run_cycle("fifo", nodes(8, 8), [job("big", tasks=10), job("small")],
                          running=[job("a", tasks=1), job("b", tasks=8)])
    assert result.decisions == []
    assert list(result.waiting) == ["big"]


def test_whole_and_fractional_tasks_never_share_a_gpu_and_shares_pack():
    result, state = run_cycle("fifo", nodes(2), [job("w", gpus=1)],
                              running=[job("f1", gpus=0.25), job("f2", gpus=0.5)])
    (grant,) = next(d for d in result.decisions if d.job_id == "w").placement.grants
    running_gpus = {g for r in state.running.values() for gr in r.placement.grants
                    for g in gr.gpus}
    assert running_gpus == {0}  # both shares packed on GPU 0 (best fit)
    assert grant.gpus == (1,)
    # A third share that needs 0.5 does not fit on GPU 0 (0.25 left) and GPU 1 is now taken.
    state.start("w", next(d for d in result.decisions if d.job_id == "w").placement, 0.0)
    state.submit(job("f3", gpus=0.5))
    assert scheduler().cycle(state, 0.0).decisions == []


def test_fractional_accounting_is_exact():
    _, state = run_cycle("fifo", nodes(1), [], running=[job(f"f{i}", gpus=0.1)
                                                      for i in range(10)])
    assert state.gpu_free[0, 0] == 0
    assert state.allocated_gpu_milli == MILLI


def test_gpu_type_constraint_is_respected():
    cluster = nodes(8) + [n for n in nodes(8, 8, gpu_type="T4")][1:]
    result, _ = run_cycle("fifo", cluster, [job("x", gpu_types=("T4",))])
    assert placed_nodes(result, "x")[0][0] == 1
    result, _ = run_cycle("fifo", cluster, [job("y", gpu_types=("A100",))])
    assert result.waiting["y"].code is Code.UNRESOLVABLE


@pytest.mark.parametrize("policy", ["fifo", "corral", "priority-preempt", "backfill"])
def test_a_job_goes_only_to_its_eligible_nodes_under_every_policy(policy):
    # Best fit would pick n1 (the tightest); only n2 is eligible.
    result, _ = run_cycle(policy, nodes(8, 8, 8),
                          [job("x", tasks=2, eligible_nodes=frozenset({"n2", "gone"}))],
                          running=[job("a", tasks=5), job("b", tasks=6)])
    assert placed_nodes(result, "x") == [(2, 2)]


def test_a_gang_larger_than_its_eligible_nodes_can_never_fit():
    result, state = run_cycle("fifo", nodes(8, 8, 8),
                              [job("x", tasks=12, eligible_nodes=frozenset({"n0"}))])
    assert result.waiting["x"].code is Code.UNRESOLVABLE
    assert state.min_nodes(job("y", tasks=12, eligible_nodes=frozenset({"n0", "n1"}))) == 2


@pytest.mark.parametrize("policy", ["fifo", "corral", "priority-preempt", "backfill"])
def test_a_per_node_cap_spreads_a_gang_over_distinct_nodes_under_every_policy(policy):
    # Best fit and locality would put all three tasks on one node; the cap forbids it.
    result, _ = run_cycle(policy, nodes(8, 8, 8, 8), [job("x", tasks=3, max_tasks_per_node=1)])
    assert sorted(t for _, t in placed_nodes(result, "x")) == [1, 1, 1]


def test_a_gang_capped_per_node_needs_as_many_nodes_as_tasks():
    result, state = run_cycle("fifo", nodes(8, 8), [job("x", tasks=3, max_tasks_per_node=1)])
    assert result.waiting["x"].code is Code.UNRESOLVABLE
    assert state.min_nodes(job("y", tasks=4, max_tasks_per_node=2)) == 2


def test_a_failure_on_some_nodes_is_not_taken_for_a_failure_on_others():
    # n0 is full; the same request restricted to n0 fails, restricted to n1 it starts.
    sched = scheduler("greedy")
    state = sched.new_state(nodes(8, 8))
    state.submit(job("a", tasks=8, eligible_nodes=frozenset({"n0"})))
    state.start("a", sched.cycle(state, 0).decisions[0].placement, 0)
    state.submit(job("b", eligible_nodes=frozenset({"n0"})))
    state.submit(job("c", submit=1, eligible_nodes=frozenset({"n1"})))
    result = sched.cycle(state, 1)
    assert result.waiting["b"].code is Code.UNSCHEDULABLE
    assert placed_nodes(result, "c") == [(1, 1)]


def test_cpu_and_memory_limit_tasks_per_node():
    cluster = nodes(8, 8, cpu=8_000)
    result, _ = run_cycle("fifo-spread", cluster, [job("x", tasks=4, cpu_milli=4_000)])
    assert sorted(t for _, t in placed_nodes(result, "x")) == [2, 2]


def test_a_job_larger_than_the_cluster_is_unresolvable():
    result, _ = run_cycle("fifo", nodes(8), [job("x", tasks=9)])
    assert result.waiting["x"].code is Code.UNRESOLVABLE


def test_failed_shape_is_retried_only_after_capacity_is_freed():
    sched = scheduler("fifo")
    state = sched.new_state(nodes(8))
    state.submit(job("a", tasks=8))
    state.start("a", sched.cycle(state, 0).decisions[0].placement, 0)
    state.submit(job("b", tasks=2))
    first = sched.cycle(state, 1).waiting["b"]
    assert sched.cycle(state, 2).waiting["b"] is first  # cached, no new search
    state.finish("a")
    assert [d.job_id for d in sched.cycle(state, 3).decisions] == ["b"]


def test_cycle_does_not_change_the_snapshot():
    sched = scheduler("fifo")
    state = sched.new_state(nodes(8, 8))
    for i in range(5):
        state.submit(job(f"j{i}", tasks=3))
    before = (state.gpu_free.copy(), state.whole_free.copy(), state.cpu_free.copy())
    result = sched.cycle(state, 0)
    assert len(result.decisions) == 4
    assert all(np.array_equal(a, b) for a, b in
               zip(before, (state.gpu_free, state.whole_free, state.cpu_free), strict=True))


@pytest.mark.parametrize("victim_priority, expect_preempt", [(0, True), (10, False)],
                         ids=["lower-priority-victim", "equal-priority-kept"])
def test_priority_preemption_evicts_whole_lower_priority_gangs(victim_priority, expect_preempt):
    sched = Scheduler(preemptive_profile())
    running = [job("low", tasks=4, priority=victim_priority), job("other", tasks=4, priority=20)]
    result, _ = run_cycle(sched, nodes(8), [job("urgent", tasks=4, priority=10)], running=running)
    preempted = [d.job_id for d in result.decisions if isinstance(d, Preempt)]
    started = [d.job_id for d in result.decisions if isinstance(d, Start)]
    if expect_preempt:
        assert preempted == ["low"] and started == ["urgent"]
    else:
        assert preempted == [] and started == []


def test_non_preemptible_jobs_are_never_victims():
    sched = Scheduler(preemptive_profile())
    result, _ = run_cycle(sched, nodes(8), [job("urgent", tasks=8, priority=10)],
                          running=[job("low", tasks=8, preemptible=False)])
    assert result.decisions == []


def test_a_capped_cycle_decides_the_first_jobs_in_order_and_the_next_cycle_the_rest():
    sched = scheduler("fifo")
    state = sched.new_state(nodes(4, 8))
    for i in range(10):
        state.submit(job(f"j{i}", gpus=1, submit=float(i)))
    first = sched.cycle(state, 0.0, max_starts=4)
    assert [d.job_id for d in first.decisions] == ["j0", "j1", "j2", "j3"]
    assert first.waiting == {}  # the others were not looked at, not refused
    for decision in first.decisions:
        state.start(decision.job_id, decision.placement, 0.0)
    rest = sched.cycle(state, 0.0)
    assert [d.job_id for d in rest.decisions] == [f"j{i}" for i in range(4, 10)]
