"""DataLocality places a job where its dataset is cached; the simulator charges cold epochs."""

from __future__ import annotations

import pytest

from builders import job, scheduler
from corral.model import InvalidSpec, Node
from corral.sim.config import SimConfig
from corral.sim.simulator import Simulator


def cached_cluster() -> list[Node]:
    """Three empty 8-GPU nodes; only n2 holds dataset "imagenet" (60% of it)."""
    return [Node("n0", 8), Node("n1", 8), Node("n2", 8, datasets={"imagenet": 0.6})]


def first_node(policy: str, *jobs, config: SimConfig | None = None) -> tuple[str, Simulator]:
    sim = Simulator(scheduler(policy), cached_cluster(), list(jobs), config)
    sim.run()
    grant = sim.runs[0].placement.grants[0]
    return sim.state.nodes[grant.node].name, sim


def test_data_aware_policy_picks_the_node_holding_the_dataset() -> None:
    assert first_node("data-aware", job("a", gpus=4, dataset="imagenet"))[0] == "n2"
    assert first_node("fifo", job("a", gpus=4, dataset="imagenet"))[0] == "n0"


def test_jobs_without_a_dataset_are_placed_as_before() -> None:
    assert first_node("data-aware", job("a", gpus=4))[0] == first_node("fifo", job("a", gpus=4))[0]


def test_cold_epoch_costs_the_uncached_share_of_one_epoch() -> None:
    config = SimConfig(cold_cache_slowdown=1.0, job_epochs=10)
    _, sim = first_node("data-aware", job("a", gpus=4, duration=1000, dataset="imagenet"),
                        config=config)
    assert sim.runs[0].end == pytest.approx(1000 + 0.4 * 100)
    _, sim = first_node("fifo", job("a", gpus=4, duration=1000, dataset="imagenet"),
                        config=config)
    assert sim.runs[0].end == pytest.approx(1000 + 100)


def test_a_second_job_on_the_same_dataset_runs_warm() -> None:
    config = SimConfig(dataset_from="user")
    _, sim = first_node("fifo", job("a", gpus=8, duration=1000, user="ann"),
                        job("b", 2000, gpus=8, duration=1000, user="ann"), config=config)
    assert [run.end - run.first_start for run in sim.runs] == pytest.approx([1100, 1000])


def test_no_dataset_no_cost() -> None:
    _, sim = first_node("fifo", job("a", gpus=8, duration=1000))
    assert sim.runs[0].end == 1000


def test_bad_cached_share_is_invalid() -> None:
    with pytest.raises(InvalidSpec, match="cached share of dataset 'x' must be a number in"):
        Node("n", 8, datasets={"x": 1.5})
