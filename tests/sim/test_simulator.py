"""The simulator: time identities, progress model, preemption cost, determinism."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

import corral
from builders import job, nodes, preemptive_profile, scheduler
from corral.clusters import build_cluster
from corral.core import Scheduler
from corral.measured import default_interference_table
from corral.model import Node
from corral.sim.config import SimConfig, load_sim_config
from corral.sim.metrics import job_table, summary_figures
from corral.sim.simulator import Simulator
from corral.traces import read_trace

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "traces"


def simulate_jobs(jobs, cluster, policy="fifo", config=None):
    sim = Simulator(policy if isinstance(policy, Scheduler) else scheduler(policy), cluster,
                    jobs, config)
    sim.run()
    return sim, job_table([r for r in sim.runs if r.end >= 0], sim.state.nodes).set_index("job_id")


def sample_traces():
    paths = [None]
    for name in ("philly-pollux/philly-pollux-sample.csv.gz",
                 "microsoft-itp-2021/microsoft-itp-2021-sample.csv.gz",
                 "helios-dirlab-excerpt/helios-dirlab-excerpt-sample.csv.gz",
                 "alibaba-openb-2023/alibaba-openb-2023-sample.csv.gz"):
        if (SHARED / name).exists():
            paths.append(SHARED / name)
    return paths


@pytest.mark.parametrize("policy", ["fifo", "fifo-spread"])
@pytest.mark.parametrize("path", sample_traces(), ids=lambda p: p.name if p else "bundled")
def test_on_a_cluster_too_big_to_queue_jct_equals_duration_exactly(path, policy):
    trace = read_trace(path)
    biggest = max(j.tasks for j in trace.jobs)
    cpu = max(j.cpu_milli for j in trace.jobs) * 8 or 64_000
    mem = max(j.memory_mib for j in trace.jobs) * 8 or 512_000
    # Enough 8-GPU nodes of one type for every job at once: nothing ever waits or spans more
    # nodes than it needs (fractional jobs may share a GPU: without a penalty for that here).
    per_job = -(-biggest * max(1, max(j.gpu_milli for j in trace.jobs) // 1000) // 8)
    cluster = [Node(f"n{i}", 8, "GPU", cpu, mem) for i in range(len(trace.jobs) * per_job)]
    plain = [j for j in trace.jobs if not j.gpu_types]
    sim, table = simulate_jobs(plain, cluster, policy, SimConfig(share_slowdown=0.0))
    assert len(table) == len(plain)
    for j in plain:
        row = table.loc[j.id]
        assert row.queue_delay == 0.0
        assert row.jct == j.duration, j.id
    assert sim.preemptions == 0


@pytest.mark.parametrize("policy", ["fifo", "fifo-spread", "greedy"])
def test_jct_is_queueing_plus_run_time_plus_overhead_for_every_job(policy):
    result = corral.simulate(policy=policy, cluster="20x8", limit=600)
    jobs = result.jobs
    assert (jobs.queue_delay >= 0).all()
    for row in jobs.itertuples():
        assert math.isclose(row.jct, row.queue_delay + row.run_time + row.overhead,
                            rel_tol=1e-12, abs_tol=1e-6)
        assert math.isclose(row.jct, row.end - row.submit, rel_tol=1e-12, abs_tol=1e-6)
    assert result.summary["jobs"] == 600
    assert result.jobs.job_id.is_unique


def test_same_inputs_and_seed_give_identical_results():
    a = corral.simulate(cluster="10x8", limit=400, seed=7)
    b = corral.simulate(cluster="10x8", limit=400, seed=7)
    assert a.jobs.equals(b.jobs) and a.timeseries.equals(b.timeseries)
    drop = ("sim_wall_s", "jobs_per_s")
    assert {k: v for k, v in a.summary.items() if k not in drop} == \
        {k: v for k, v in b.summary.items() if k not in drop}


def test_queueing_in_fifo_order_on_a_one_node_cluster():
    jobs = [job("a", 0, tasks=8, duration=100), job("b", 1, tasks=4, duration=10),
            job("c", 2, tasks=4, duration=10)]
    _, table = simulate_jobs(jobs, nodes(8))
    assert table.loc["b"].start == 100 and table.loc["c"].start == 100
    assert table.loc["b"].jct == 109 and table.loc["c"].queue_delay == 98


def test_preemption_charges_the_restore_overhead():
    jobs = [job("low", 0, tasks=8, duration=100), job("high", 10, tasks=8, duration=50,
                                                         priority=5)]
    sim, table = simulate_jobs(jobs, nodes(8), Scheduler(preemptive_profile()),
                               SimConfig(preemption_overhead_s=30))
    low, high = table.loc["low"], table.loc["high"]
    assert (high.start, high.end) == (10, 60)
    assert low.preemptions == 1 and sim.preemptions == 1
    assert (low.queue_delay, low.run_time, low.overhead) == (50, 100, 30)
    assert low.end == 180 and low.jct == 180


def test_gpu_type_speed_and_reference_type():
    cluster = nodes(8, gpu_type="A100")
    config = SimConfig(gpu_speed={"A100": 2.0})
    _, table = simulate_jobs([job("a", duration=100)], cluster, config=config)
    assert table.loc["a"].run_time == 50
    config = SimConfig(gpu_speed={"A100": 2.0}, reference_gpu_type="A100")
    _, table = simulate_jobs([job("a", duration=100)], cluster, config=config)
    assert table.loc["a"].run_time == 100


def test_a_gang_spread_over_more_nodes_than_needed_runs_slower():
    # Two 4-GPU jobs block half of each node; an 8-GPU gang under fifo-spread then spans 2
    # nodes where 1 would do: one extra node -> speed 1 / (1 + 0.1).
    jobs = [job("a", 0, tasks=4, duration=1000), job("b", 0, tasks=4, duration=1000),
            job("g", 1, tasks=8, duration=110)]
    _, table = simulate_jobs(jobs, nodes(8, 8), "fifo-spread", SimConfig(spread_slowdown=0.1))
    assert table.loc["g"].nodes.count(";") == 1
    assert table.loc["g"].run_time == pytest.approx(121)


def test_jobs_sharing_a_gpu_slow_each_other_down_until_one_leaves():
    jobs = [job("x", 0, gpus=0.5, duration=100), job("y", 0, gpus=0.5, duration=50)]
    _, table = simulate_jobs(jobs, nodes(1), config=SimConfig(share_slowdown=0.25))
    # Both at speed 0.8: y finishes at 62.5; x has done 50 of 100 and then runs alone.
    assert table.loc["y"].end == pytest.approx(62.5)
    assert table.loc["x"].end == pytest.approx(112.5)


def test_scheduling_ticks_run_cycles_without_events():
    profile = scheduler("fifo").profile
    ticking = Scheduler(dataclasses.replace(profile, tick_seconds=7.0))
    seen = []
    cycle = ticking.cycle

    def recording_cycle(state, now, **kw):
        seen.append(now)
        return cycle(state, now, **kw)

    ticking.cycle = recording_cycle
    _, table = simulate_jobs([job("a", 0, duration=20), job("b", 3, duration=5)], nodes(1),
                             ticking)
    assert {7.0, 14.0} <= set(seen)  # cycles at ticks while b waits, with no event then
    assert table.loc["b"].start == 20 and table.loc["a"].jct == 20


def test_a_job_that_can_never_fit_is_reported_not_lost():
    result = corral.simulate(cluster="1x2", limit=300)
    assert result.summary["skipped"].get("does_not_fit_cluster", 0) > 0
    assert result.summary["jobs"] + result.summary["skipped"]["does_not_fit_cluster"] == 300


def test_sim_config_file(tmp_path):
    path = tmp_path / "sim.toml"
    path.write_text('preemption_overhead_s = 5\n[gpu_speed]\nT4 = 0.5\n')
    config = load_sim_config(path)
    assert config.preemption_overhead_s == 5 and config.speed_of("T4") == 0.5
    path.write_text("spread_slowdown = -1\n")
    with pytest.raises(corral.model.ConfigError, match="spread_slowdown"):
        load_sim_config(path)
    path.write_text("warp = 9\n")
    with pytest.raises(corral.model.ConfigError, match="unknown key"):
        load_sim_config(path)


def test_the_default_sharing_penalty_is_the_shipped_measurement():
    measured = default_interference_table().mean_slowdown - 1
    assert SimConfig().share_slowdown == pytest.approx(measured) and measured > 0
    # Two quarter-GPU jobs on one GPU: each runs 1 + penalty times as long as alone.
    jobs = [job("a", 0, gpus=0.25, duration=100), job("b", 0, gpus=0.25, duration=100)]
    _, table = simulate_jobs(jobs, nodes(1))
    assert list(table.jct) == [pytest.approx(100 * (1 + measured))] * 2


def test_fidelity_against_the_helios_simulator_on_the_first_10k_philly_jobs():
    path = SHARED / "philly-pollux" / "philly.csv.gz"
    if not path.exists():
        pytest.skip("shared traces not present")
    result = corral.simulate(path, cluster=build_cluster("96x8"), limit=10_000)
    # Reference (REFERENCE-RESULTS.md): Helios FIFO best fit, 27,374 s avg JCT.
    assert result.summary["avg_jct"] == pytest.approx(27_374, rel=0.05)


def test_co_tenants_are_not_re_timed_when_their_speed_does_not_change():
    # Fractional jobs share GPUs (here without a penalty, so speeds never change); with
    # non-integer times a needless re-derivation of the end from the work left would drift
    # from start + duration.
    jobs = [job(f"f{i}", 0.1 * i, gpus=0.25, duration=0.7 + 1.3 * i) for i in range(12)]
    _, table = simulate_jobs(jobs, nodes(1), config=SimConfig(share_slowdown=0.0))
    for j in jobs:
        row = table.loc[j.id]
        assert row.end == row.start + j.duration, j.id


def test_jain_fairness_over_users_slowdowns():
    # Two users, one slowed 3x (bounded slowdown 3) and one not (1): (1 + 3)^2 / (2 x 10) = 0.8.
    jobs = [job("a", 0, tasks=8, duration=100, user="u1"),
            job("b", 0, tasks=8, duration=50, user="u2")]
    sim, _ = simulate_jobs(jobs, nodes(8))
    table = job_table(sim.runs, sim.state.nodes)
    assert summary_figures(table, sim.alloc_area, 8)["jain_fairness"] == pytest.approx(0.8)


def test_load_scales_arrivals_on_the_cluster_the_original_trace_sizes():
    base = corral.simulate(cluster="auto:0.8", limit=500)
    busy = corral.simulate(cluster="auto:0.8", limit=500, load=3.0)
    assert busy.summary["cluster"] == base.summary["cluster"]
    assert busy.summary["load"] == 3.0 and base.summary["load"] == 1.0
    assert (busy.jobs.submit.to_numpy() * 3 == base.jobs.submit.to_numpy()).all()
    assert busy.summary["avg_queue_delay"] > base.summary["avg_queue_delay"]
    with pytest.raises(corral.model.ConfigError, match="load"):
        corral.simulate(limit=10, load=0)


def test_frag_rate_is_a_share_and_counts_stranded_slivers() -> None:
    """Two 0.6-GPU tasks on one 1-GPU node: the first strands 0.4 that the other cannot use
    while it runs alone; the tracker's running total matches a fresh measurement at the end."""
    jobs = [job("a", 0, gpus=0.6, duration=100), job("b", 0, gpus=0.6, duration=100)]
    sim, _ = simulate_jobs(jobs, nodes(1))
    result = corral.simulate(read_trace(None, limit=300), cluster="4x8")
    assert 0 <= result.summary["frag_rate"] <= 1
    # a runs 0-100 with 0.4 free, all of it fragmented; b then runs 100-200 likewise.
    figures = summary_figures(job_table(sim.runs, sim.state.nodes), sim.alloc_area, 1,
                              sim.frag_area)
    assert figures["frag_rate"] == pytest.approx(1.0)
    assert sim.fragmentation.total == pytest.approx(0.0)


def test_frag_rate_is_lower_when_fragments_are_usable() -> None:
    """0.5-GPU tasks pair up on a GPU: nothing is ever stranded."""
    jobs = [job(f"j{i}", i, gpus=0.5, duration=50) for i in range(6)]
    sim, _ = simulate_jobs(jobs, nodes(2))
    figures = summary_figures(job_table(sim.runs, sim.state.nodes), sim.alloc_area, 2,
                              sim.frag_area)
    assert figures["frag_rate"] == pytest.approx(0.0)
