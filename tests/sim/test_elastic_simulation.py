"""Elastic jobs in the simulator: the worker-scaling speed-up, and what resizes and migrations
cost, booked per job and in the run's totals."""

from __future__ import annotations

import math

import pytest

from builders import job, nodes, scheduler
from corral.core.worker_scaling import WorkerScaling
from corral.model import ConfigError, InvalidSpec
from corral.sim.config import SimConfig, load_sim_config
from corral.sim.metrics import job_table
from corral.sim.simulator import Simulator, marked_elastic


def run(policy, cluster, jobs, **config):
    sim = Simulator(scheduler(policy), cluster, jobs, SimConfig(**config))
    sim.run()
    return sim, job_table(sim.runs, sim.state.nodes).set_index("job_id")


@pytest.mark.parametrize("cost", [0.0, 30.0, 500.0])
def test_a_grown_job_pays_the_resize_and_runs_at_the_scaled_speed(cost):
    # Alone on 2 GPUs, it grows at the first tick after grow_after_s (600 s), pays the cost,
    # then runs 2 ** log2(1.8) = 1.8 times as fast.
    sim, table = run("corral-elastic", nodes(2), [job("a", tasks=1, max_tasks=2,
                                                       duration=10_000)],
                     resize_overhead_s=cost, scaling_efficiency=0.9)
    row = table.loc["a"]
    assert row.resizes == 1 and row.migrations == 0
    assert row.overhead == pytest.approx(cost)
    assert row.end == pytest.approx(600 + cost + (10_000 - 600) / 1.8)
    assert math.isclose(row.jct, row.queue_delay + row.run_time + row.overhead)
    assert sim.resizes == 1 and sim.resize_overhead == pytest.approx(cost)


def test_a_partly_started_gang_runs_slower_by_the_scaling_model():
    _, table = run("fifo", nodes(2), [job("a", tasks=4, min_tasks=2, duration=1000)],
                   scaling_efficiency=1.0)
    assert table.loc["a"].end == pytest.approx(2000.0)  # half the workers, linear scaling


def test_migrations_are_counted_and_charged_apart_from_resizes():
    cluster = nodes(4, 4)
    # "big" fills n0 beside x, so y goes to n1; once big ends each node has 3 GPUs free.
    jobs = [job("x", 0.0, duration=50_000), job("big", 1.0, tasks=3, duration=100),
            job("y", 2.0, duration=50_000), job("gang", 5000.0, tasks=4, duration=100)]
    sim, table = run("defrag", cluster, jobs, migration_overhead_s=45, resize_overhead_s=7)
    assert sim.migrations == 1 and sim.resizes == 0 and sim.preemptions == 0
    moved = table[table.migrations == 1]
    assert len(moved) == 1 and moved.overhead.iloc[0] == pytest.approx(45)
    assert table.loc["gang"].start == pytest.approx(5000.0)


def test_marking_jobs_elastic_from_the_config():
    config = SimConfig(elastic_min_share=0.5, elastic_max_factor=2.0)
    marked = marked_elastic(job("j", tasks=3), config)
    assert (marked.min_tasks, marked.tasks, marked.max_tasks) == (2, 3, 6)
    assert not marked_elastic(job("one", tasks=1), SimConfig(elastic_min_share=0.5)).is_elastic


def test_worker_scaling_curve_and_measured_points():
    assert WorkerScaling(1.0).speedup(8) == pytest.approx(8.0)
    assert WorkerScaling(0.9).speedup(4) == pytest.approx(1.8 ** 2)
    measured = WorkerScaling(0.9, {1: 1.0, 4: 3.4})
    assert measured.speedup(2) == pytest.approx(1.0 + 2.4 / 3)  # interpolated
    assert measured.relative(4, 1) == pytest.approx(1 / 3.4)
    with pytest.raises(InvalidSpec, match="at 2 workers"):
        WorkerScaling(0.9, {2: 3.0})


def test_worker_speedup_table_from_a_sim_config_file(tmp_path):
    path = tmp_path / "sim.toml"
    path.write_text("[worker_speedup]\n1 = 1.0\n8 = 6.5\n", encoding="utf-8")
    assert load_sim_config(path).scaling.speedup(8) == pytest.approx(6.5)
    path.write_text("[worker_speedup]\nmany = 2.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="worker_speedup must be a table"):
        load_sim_config(path)
    path.write_text("[worker_speedup]\n2 = 9.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="worker_speedup: measured speed-up at 2"):
        load_sim_config(path)
