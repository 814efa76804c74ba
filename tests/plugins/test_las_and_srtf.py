"""Tiresias 2D-LAS and SRTF-oracle: orders by service received or time left, with preemption
by the policy's own order."""

from __future__ import annotations

from importlib.resources import files

import pytest

from builders import job, nodes, scheduler
from corral.core import Preempt, Scheduler, Start
from corral.model import ConfigError
from corral.plugins.las_order import LasOrder, LasOrderArgs
from corral.plugins.order_preemption import OrderPreemptionArgs
from corral.policies import load_policy, parse_policy
from corral.sim.config import SimConfig
from corral.sim.metrics import job_table
from corral.sim.simulator import Simulator


def run_sim(policy, cluster, jobs, overhead=0.0):
    sim = Simulator(scheduler(policy), cluster, jobs, SimConfig(preemption_overhead_s=overhead))
    sim.run()
    return sim, job_table([r for r in sim.runs if r.end >= 0], sim.state.nodes).set_index("job_id")


def test_las_key_drops_a_queue_per_threshold_and_promotes_the_starved():
    order = LasOrder(LasOrderArgs(thresholds=(100.0, 1000.0), starvation_factor=2.0))
    sched = Scheduler(load_policy("tiresias"))
    state = sched.new_state(nodes(8))
    big = job("big", tasks=4)
    state.submit(big)
    state.start("big", sched.cycle(state, 0).decisions[0].placement, 0)
    assert order.sort_key(big, state, 10)[0] == 0      # 40 GPU-s
    assert order.sort_key(big, state, 50)[0] == 1      # 200 GPU-s
    assert order.sort_key(big, state, 300)[0] == 2     # 1,200 GPU-s
    state.preempt("big", 300)
    assert order.sort_key(big, state, 500)[0] == 2     # waited 200 s < 2 x 300 s
    assert order.sort_key(big, state, 900)[0] == 0     # waited 600 s: promoted


def test_tiresias_lets_a_short_job_overtake_a_long_one():
    # One 8-GPU node; a long 8-GPU job runs, a 1-GPU job arrives later. Under FIFO it waits
    # for the long job; under 2D-LAS the long job is demoted past 3,250 GPU-s (about 406 s)
    # and preempted at the next re-plan (every 300 s), so the short job runs first.
    jobs = [job("long", 0, tasks=8, duration=5000), job("short", 100, tasks=8, duration=50)]
    _, fifo = run_sim("fifo", nodes(8), jobs)
    sim, las = run_sim("tiresias", nodes(8), jobs)
    assert fifo.loc["short"].start == 5000
    assert las.loc["short"].start == pytest.approx(600)  # first re-plan past 406.25 s
    assert las.loc["long"].preemptions == 1 and sim.preemptions == 1
    assert las.loc["long"].end == pytest.approx(5050)


def test_srtf_oracle_runs_the_shortest_remaining_first():
    jobs = [job("a", 0, tasks=8, duration=1000), job("b", 10, tasks=8, duration=100),
            job("c", 20, tasks=8, duration=500)]
    _, table = run_sim("srtf-oracle", nodes(8), jobs)
    assert table.loc["b"].start == 10            # preempts a (990 s left)
    assert table.loc["b"].end == 110
    assert table.loc["c"].start == 110           # 500 left beats a's 990
    assert table.loc["a"].end == pytest.approx(1600)


def test_order_preemption_never_evicts_a_better_ranked_job():
    # Under SRTF a job with less time left is never a victim of one with more.
    jobs = [job("short", 0, tasks=8, duration=100), job("long", 1, tasks=8, duration=1000)]
    sim, table = run_sim("srtf-oracle", nodes(8), jobs)
    assert sim.preemptions == 0 and table.loc["long"].start == 100


def test_a_job_preempted_often_is_left_to_finish():
    policy = parse_policy("""
name = "srtf-protect"
oracle = true
blocking = false
[plugins]
queue_sort = "SrtfOrder"
filter = ["ResourceFit"]
permit = ["StrictGang"]
post_filter = ["OrderPreemption"]
[plugin_args.OrderPreemption]
protect_after = 1
""", "test")
    jobs = [job("a", 0, tasks=8, duration=1000), job("b", 10, tasks=8, duration=500),
            job("c", 20, tasks=8, duration=100)]
    sim = Simulator(Scheduler(policy), nodes(8), jobs, SimConfig(preemption_overhead_s=0))
    sim.run()
    table = job_table(sim.runs, sim.state.nodes).set_index("job_id")
    assert table.loc["a"].preemptions == 1     # by b
    assert table.loc["b"].preemptions == 1     # by c
    assert table.loc["a"].start == 0 and sim.preemptions == 2


def test_oracle_orders_need_an_oracle_policy():
    with pytest.raises(ConfigError, match="oracle = true"):
        parse_policy("""
name = "sneaky"
[plugins]
queue_sort = "SrtfOrder"
filter = ["ResourceFit"]
permit = ["StrictGang"]
""", "test")


@pytest.mark.parametrize("thresholds", [[], [0], [200, 100], [5, 5]])
def test_las_thresholds_are_validated(thresholds):
    with pytest.raises(ConfigError, match="thresholds"):
        LasOrderArgs(thresholds=tuple(thresholds)).validate()


def test_preemptions_are_whole_gangs_and_reported():
    jobs = [job("g", 0, tasks=2, gpus=4, duration=5000), job("s", 60, tasks=1, duration=10)]
    sched = scheduler("tiresias")
    state = sched.new_state(nodes(8))
    state.submit(jobs[0])
    state.start("g", sched.cycle(state, 0).decisions[0].placement, 0)
    state.submit(jobs[1], 500)
    result = sched.cycle(state, 500)
    assert [type(d) for d in result.decisions] == [Preempt, Start]
    assert result.decisions[0].job_id == "g"


def test_priority_preempt_serves_urgent_jobs_first_and_evicts_for_them():
    jobs = [job("batch", 0, tasks=8, duration=1000),
            job("queued", 10, tasks=8, duration=100),
            job("urgent", 20, tasks=8, duration=50, priority=10)]
    sim, table = run_sim("priority-preempt", nodes(8), jobs, overhead=30)
    assert table.loc["urgent"].start == 20 and table.loc["urgent"].end == 70
    assert table.loc["batch"].preemptions == 1 and sim.preemptions == 1
    # batch (priority 0, submitted first) resumes before queued, after its restore overhead.
    assert table.loc["batch"].overhead == 30 and table.loc["batch"].end == 1080
    assert table.loc["queued"].start == 1080


@pytest.mark.parametrize("policy", ["backfill-oracle", "backfill"])
def test_easy_backfill_starts_only_jobs_that_keep_the_heads_reservation(policy):
    # 8 GPUs: "run" holds 6 until t=100. The head needs 8 (shadow time 100). "short" (2 GPUs,
    # 50 s) ends before then and is backfilled; "long" (2 GPUs, 500 s) would delay the head.
    limits = policy == "backfill"
    jobs = [job("run", 0, tasks=6, duration=100, time_limit=100 if limits else None),
            job("head", 1, tasks=8, duration=10, time_limit=10 if limits else None),
            job("long", 2, tasks=2, duration=500, time_limit=500 if limits else None),
            job("short", 3, tasks=2, duration=50, time_limit=50 if limits else None)]
    _, table = run_sim(policy, nodes(8), jobs)
    assert table.loc["short"].start == 3
    assert table.loc["head"].start == 100
    assert table.loc["long"].start == 110


def test_backfill_without_estimates_is_strict_fifo():
    jobs = [job("run", 0, tasks=6, duration=100), job("head", 1, tasks=8, duration=10),
            job("short", 3, tasks=2, duration=50)]
    _, table = run_sim("backfill", nodes(8), jobs)
    assert table.loc["short"].start == 110


def test_lazy_promotion_orders_the_queue_as_a_full_rekey_does():
    # Jobs preempted after runs of different lengths starve at different times; re-keying only
    # the jobs due must leave the queue in the order a re-key of every job gives.
    sched = Scheduler(load_policy("tiresias"))   # thresholds 3250/7200, starvation factor 50
    lazy, full = sched.new_state(nodes(8)), sched.new_state(nodes(8))
    for state in (lazy, full):
        for i, (gpus, ran) in enumerate([(8, 500), (4, 1000), (8, 100), (2, 4000), (1, 50)]):
            j = job(f"j{i}", i, tasks=gpus)
            alone = sched.new_state(nodes(8))  # the queue holds earlier jobs: place j by itself
            alone.submit(j)
            state.submit(j)
            state.start(j.id, sched.cycle(alone, i).decisions[0].placement, i)
            state.preempt(j.id, i + ran)
        state.submit(job("fresh", 10))
    for now in (5_000, 30_000, 60_000, 250_000):
        lazy.promote_waiting(now)
        full.rekey(now)
        assert [j.id for j in lazy.pending] == [j.id for j in full.pending], now
    assert lazy.pending.head().id == "j0", "every demoted job has starved by now"


def _same_queue_rivals(profile):
    """One 8-GPU node: "early" ran 1,000 s (8,000 GPU-s, the lowest queue) and was preempted;
    "late", submitted after it, has since run as long. Both sit in the lowest queue."""
    sched = Scheduler(profile)
    state = sched.new_state(nodes(8))
    state.submit(job("early", 0, tasks=8))
    placement = sched.cycle(state, 0).decisions[0].placement
    state.start("early", placement, 0)
    state.preempt("early", 1000)
    state.submit(job("late", 10, tasks=8), 1000)
    state.start("late", placement, 1000)
    return sched.cycle(state, 2000).decisions


def test_las_preempts_only_for_a_higher_queue():
    # Tiresias keeps a queue's running jobs ahead of its waiting ones: the FIFO tie-break
    # orders starts, and swapping two jobs of the lowest queue would gain nothing.
    assert _same_queue_rivals(load_policy("tiresias")) == []
    assert _same_queue_rivals(load_policy("corral")) == []
    text = (files("corral.policies") / "tiresias.toml").read_text(encoding="utf-8")
    decisions = _same_queue_rivals(parse_policy(text.replace("key_fields = 1", ""), "test"))
    assert [(type(d), d.job_id) for d in decisions] == [(Preempt, "late"), (Start, "early")]


@pytest.mark.parametrize("fields", [0, -1, 1.5, True, "1", 17])
def test_order_preemption_key_fields_are_validated(fields):
    with pytest.raises(ConfigError, match=r"OrderPreemption\.key_fields"):
        OrderPreemptionArgs(key_fields=fields).validate()


def test_kept_ranking_of_running_jobs_changes_at_the_threshold_crossing():
    # The ranking of running jobs is kept across cycles while no key changes; "long" crosses
    # 3,250 GPU-s at 406.25 s exactly, and from then on it yields to the waiting job.
    sched = Scheduler(load_policy("tiresias"))
    state = sched.new_state(nodes(8))
    state.submit(job("long", 0, tasks=8))
    state.start("long", sched.cycle(state, 0).decisions[0].placement, 0)
    state.submit(job("short", 100, tasks=8), 100)
    for now in (100, 300, 406.2499):
        assert sched.cycle(state, now).decisions == [], now
    for now in (406.25, 407):
        assert [(type(d), d.job_id) for d in sched.cycle(state, now).decisions] == \
            [(Preempt, "long"), (Start, "short")], now
    state.finish("long", 408)
    state.submit(job("next", 409, tasks=8), 409)
    assert [d.job_id for d in sched.cycle(state, 409).decisions] == ["short"]
