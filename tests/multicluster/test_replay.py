"""Replaying several clusters behind a dispatcher: nothing lost or doubled, ``home`` equal to
each cluster alone, moves paid for in JCT."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.api import simulate
from corral.multicluster.cluster_set import load_cluster_set
from corral.multicluster.dispatch_policies import POLICIES
from corral.multicluster.replay import replay


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_every_job_runs_once_in_one_cluster(clusters_toml: Path, policy: str) -> None:
    result = replay(load_cluster_set(clusters_toml), dispatch=policy)
    ids = result.jobs["job_id"]
    assert len(ids) == 18 and ids.is_unique
    assert set(ids) == {f"busy/b{i}" for i in range(12)} | {f"idle/i{i}" for i in range(6)}
    assert result.clusters["jobs_run"].sum() == 18
    assert result.summary["skipped"] == {}


def test_home_replays_each_cluster_as_it_would_alone(clusters_toml: Path) -> None:
    result = replay(load_cluster_set(clusters_toml), dispatch="home")
    assert result.summary["moved"] == 0
    for name, nodes in (("busy", "1x8"), ("idle", "2x8")):
        alone = simulate(clusters_toml.parent / f"{name}.csv", cluster=nodes).jobs
        mine = result.jobs[result.jobs["cluster"] == name]
        assert mine["jct"].tolist() == alone["jct"].tolist()
        assert (mine["home"] == name).all()


def test_spilling_a_burst_shortens_its_wait_and_pays_delay_and_transfer(
        clusters_toml: Path) -> None:
    cluster_set = load_cluster_set(clusters_toml)
    stay = replay(cluster_set, dispatch="home")
    spill = replay(cluster_set, dispatch="predicted-wait")
    assert spill.summary["moved"] > 0
    assert spill.summary["avg_jct"] < stay.summary["avg_jct"]
    moved = spill.jobs[spill.jobs["home"] != spill.jobs["cluster"]]
    # 30 s delay + 100 GB at 8 Gbit/s = 130 s before a moved job can start anywhere.
    assert (moved["start"] - moved["submit"] >= 130.0).all()
    assert (moved["jct"] == moved["end"] - moved["submit"]).all()
    assert spill.clusters["moved_out"].sum() == spill.clusters["moved_in"].sum() == len(moved)


def test_limit_takes_the_first_jobs_of_each_cluster(clusters_toml: Path) -> None:
    result = replay(load_cluster_set(clusters_toml), dispatch="home", limit=2)
    assert sorted(result.jobs["job_id"]) == ["busy/b0", "busy/b1", "idle/i0", "idle/i1"]
