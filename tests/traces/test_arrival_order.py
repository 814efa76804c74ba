"""Seeds: 0 replays the trace as recorded, other seeds deal its jobs to its arrival times."""

from __future__ import annotations

import pytest

import corral
from corral.clusters import build_cluster
from corral.model import ConfigError
from corral.traces import read_trace, reorder_arrivals


def test_seed_zero_is_the_trace_as_recorded() -> None:
    trace = read_trace(limit=200)
    assert reorder_arrivals(trace, 0) is trace


def test_other_seeds_keep_the_arrival_times_and_the_jobs_but_pair_them_anew() -> None:
    trace = read_trace(limit=500)
    replica = reorder_arrivals(trace, 1)
    assert [j.submit for j in replica.jobs] == [j.submit for j in trace.jobs]
    assert sorted(j.id for j in replica.jobs) == sorted(j.id for j in trace.jobs)
    by_id = {job.id: job for job in trace.jobs}
    assert all(j.duration == by_id[j.id].duration and j.tasks == by_id[j.id].tasks
               for j in replica.jobs)
    moved = sum(a.id != b.id for a, b in zip(trace.jobs, replica.jobs, strict=True))
    assert moved > 400
    assert [j.id for j in reorder_arrivals(trace, 1).jobs] == [j.id for j in replica.jobs]
    assert [j.id for j in reorder_arrivals(trace, 2).jobs] != [j.id for j in replica.jobs]


def test_an_auto_cluster_is_sized_alike_for_every_seed() -> None:
    trace = read_trace(limit=500)
    sizes = {build_cluster("auto:0.7", reorder_arrivals(trace, seed)).gpus for seed in range(4)}
    assert len(sizes) == 1


def test_simulate_records_the_seed_and_its_replica_changes_the_run() -> None:
    a = corral.simulate(cluster="6x8", limit=300, seed=0).summary
    b = corral.simulate(cluster="6x8", limit=300, seed=5).summary
    assert (a["seed"], b["seed"]) == (0, 5)
    assert a["jobs"] == b["jobs"] and a["avg_jct"] != b["avg_jct"]


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_bad_seeds_are_refused(seed: object) -> None:
    with pytest.raises(ConfigError, match="seed must be a whole number"):
        reorder_arrivals(read_trace(limit=10), seed)  # type: ignore[arg-type]
