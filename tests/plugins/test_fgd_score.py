"""FgdScore: the node whose fragmentation grows least wins, learned or fixed workload."""

from __future__ import annotations

import numpy as np
import pytest

from builders import job, nodes
from corral.core import Scheduler, Start
from corral.core.cycle_state import CycleState
from corral.model import ConfigError
from corral.plugins.fgd_score import FgdScore, FgdScoreArgs
from corral.policies import builtin_policy_names, load_policy, parse_policy

POLICY = """
name = "fgd-test"
blocking = false
[plugins]
queue_sort = "FifoOrder"
filter = ["ResourceFit", "GpuTypeFilter"]
score = [{{ name = "Locality", weight = 10 }}, {{ name = "{score}", weight = 1 }}]
permit = ["StrictGang", "Locality"]
{args}
"""


def placed_on(policy_score: str, args: str = "", *warmup: float) -> int:
    """Node chosen for a 0.3-GPU task when n0 has 0.4 GPU free and n1 two empty GPUs, after
    *warmup* tasks (GPU shares) taught the policy what the workload asks for."""
    scheduler = Scheduler(parse_policy(POLICY.format(score=policy_score, args=args), "test"))
    state = scheduler.new_state(nodes(1, 2))
    state.gpu_free[0, 0] = 400  # someone else holds 0.6 of n0's GPU
    state.whole_free[0] = 0
    state.allocated_gpu_milli = 600
    teacher = scheduler.profile.scores[1][0]
    for i, gpus in enumerate(warmup):
        cycle = CycleState(state, 0.0)
        teacher.score(cycle, job(f"w{i}", gpus=gpus), np.arange(2), np.ones(2, int), 1)
    state.submit(job("t", gpus=0.3))
    (decision,) = scheduler.cycle(state, 0.0).decisions
    assert isinstance(decision, Start)
    return decision.placement.grants[0].node


def test_best_fit_and_fgd_disagree_where_a_fit_strands_a_share() -> None:
    """Best fit squeezes the 0.3 task into n0's 0.4, leaving 0.1 that no 0.3 task can use;
    FGD sees that sliver as new fragmentation and takes a fresh GPU on n1 instead."""
    assert placed_on("BestFit") == 0
    fixed = "[plugin_args.FgdScore]\nworkload = [{gpu_milli = 300}]"
    assert placed_on("FgdScore", fixed) == 1


def test_fgd_learns_the_workload_from_the_jobs_it_places() -> None:
    """Among 0.3-GPU tasks a 0.1 sliver is waste; among whole-GPU tasks, breaking into n1's
    empty GPU is the waste (n0's 0.4 is useless to them anyway), so n0 wins."""
    assert placed_on("FgdScore", "", 0.3, 0.3) == 1
    assert placed_on("FgdScore", "", 1, 1, 1) == 0


def test_scores_are_in_range_and_lower_for_more_fragmentation() -> None:
    plugin = FgdScore(FgdScoreArgs(workload=({"gpu_milli": 300},)))
    state = Scheduler(load_policy("fgd")).new_state(nodes(1, 2))
    state.gpu_free[0, 0] = 400
    cycle = CycleState(state, 0.0)
    scores = plugin.score(cycle, job("t", gpus=0.3), np.arange(2), np.ones(2, int), 1)
    assert isinstance(scores, np.ndarray)
    assert ((scores >= 0) & (scores <= 100)).all()
    assert scores[1] > scores[0]


@pytest.mark.parametrize(("args", "message"), [
    ({"max_types": 0}, "max_types"),
    ({"workload": [{"cpu_milli": 1}]}, "gpu_milli"),
    ({"workload": [{"gpu_milli": 1500}]}, "gpu_milli"),
    ({"workload": [{"gpu_milli": 500, "weight": 0}]}, "weight"),
    ({"workload": [{"gpu_milli": 500, "gpu_types": "V100"}]}, "gpu_types"),
    ({"workload": [{"gpu_milli": 500, "colour": "red"}]}, "table with gpu_milli"),
])
def test_bad_arguments_are_config_errors(args: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FgdScoreArgs(**args).validate()


def test_fgd_policy_ships_and_uses_the_plugin() -> None:
    assert "fgd" in builtin_policy_names()
    profile = load_policy("fgd")
    assert [(type(p).__name__, w) for p, w in profile.scores] == [
        ("Locality", 10.0), ("FgdScore", 1.0), ("BestFit", 0.05)]  # best fit breaks ties only
    assert not profile.blocking
