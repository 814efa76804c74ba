"""Dispatch policies on hand-made cluster views where the right cluster is obvious."""

from __future__ import annotations

import pytest

from corral.model import ConfigError
from corral.multicluster.cluster_set import DispatchSettings
from corral.multicluster.dispatch_policies import ClusterView, dispatch_policy

SETTINGS = DispatchSettings(delay_s=30.0, transfer_gbit_s=8.0, dataset_gb=100.0,
                            spill_after_s=1800.0)
"""Moving costs 30 s, plus 100 s of data transfer where the cache lacks the data."""


def view(name: str, free: int, queued: float = 0.0, *, gpus: int = 16, run_s: float = 3600.0,
         cost: float = 1.0, holds: bool = False) -> ClusterView:
    return ClusterView(name, gpus, free, queued, run_s, cost, holds)


def choose(policy: str, *views: ClusterView, gpus: float = 4.0, home: str = "a") -> str:
    return dispatch_policy(policy)(gpus, home, views, SETTINGS)


def test_home_never_moves() -> None:
    assert choose("home", view("a", 0, 100.0), view("b", 16)) == "a"


def test_least_loaded_takes_most_free_net_of_backlog() -> None:
    assert choose("least-loaded", view("a", 2), view("b", 8, 4.0), view("c", 6)) == "c"


@pytest.mark.parametrize("policy", ["least-loaded", "predicted-wait", "data-locality", "cost",
                                    "home-spill"])
def test_home_wins_ties(policy: str) -> None:
    assert choose(policy, view("b", 8), view("a", 8)) == "a"


def test_predicted_wait_counts_backlog_and_delay() -> None:
    # a: 8 GPUs short at 16 GPUs per hour -> 1800 s; b: free now, +30 s delay.
    assert choose("predicted-wait", view("a", 0, 4.0), view("b", 4)) == "b"
    # A wait shorter than the delay keeps the job home: 1 GPU short -> 1 s against 30 s.
    assert choose("predicted-wait", view("a", 3, run_s=16.0), view("b", 4)) == "a"


def test_data_locality_counts_transfer_where_cache_lacks_data() -> None:
    # Home waits 1 GPU x 1600 s / 16 = 100 s; b is free but needs 30 s + 100 s of transfer.
    home = view("a", 3, run_s=1600.0)
    assert choose("predicted-wait", home, view("b", 4)) == "b"
    assert choose("data-locality", home, view("b", 4)) == "a"
    assert choose("data-locality", home, view("b", 4, holds=True)) == "b"


def test_cost_takes_cheapest_that_starts_within_spill_limit() -> None:
    dear, cheap_slow = view("a", 4, cost=3.0), view("b", 0, 64.0, cost=0.5)
    cheap = view("c", 4, cost=1.0)
    assert choose("cost", dear, cheap_slow, cheap) == "c"
    assert choose("cost", dear, cheap_slow) == "a"


def test_home_spill_stays_home_until_the_wait_passes_the_limit() -> None:
    assert choose("home-spill", view("a", 0, 2.0), view("b", 16)) == "a"  # 1350 s
    assert choose("home-spill", view("a", 0, 8.0), view("b", 16)) == "b"  # 2700 s


def test_unknown_policy_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown dispatch policy 'nearest'.*home"):
        dispatch_policy("nearest")
