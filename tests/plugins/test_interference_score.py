"""InterferenceScore on tiny clusters: a fractional task goes beside the job it slows least,
never past the utilisation threshold, and whole-GPU jobs are left to the other scores."""

from __future__ import annotations

import numpy as np
import pytest

from builders import job, nodes
from corral.core import Scheduler, Start
from corral.core.cycle_state import CycleState
from corral.core.placement import NodeGrant, Placement
from corral.model import ConfigError
from corral.plugins.interference_score import InterferenceScore, InterferenceScoreArgs
from corral.policies import load_policy, parse_policy

TABLE = """# source: measured
workload,partner,share,alone_throughput,paired_throughput,slowdown,workload_util,partner_util
gemm,gemm,0.5,10,6,1.6,0.4,0.4
gemm,copy,0.5,10,9,1.1,0.4,0.25
copy,gemm,0.5,8,7,1.15,0.25,0.4
copy,copy,0.5,8,7,1.2,0.25,0.25
"""

POLICY = """
name = "interference-test"
blocking = false
[plugins]
queue_sort = "FifoOrder"
filter = ["ResourceFit", "GpuTypeFilter"]
score = [{{ name = "InterferenceScore", weight = 1 }}, {{ name = "BestFit", weight = 1 }}]
permit = ["StrictGang"]
[plugin_args.InterferenceScore]
table = "{table}"
max_utilisation = {threshold}
job_classes = {{ "gemm-*" = "gemm", "copy-*" = "copy" }}
"""


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "interference.csv"
    path.write_text(TABLE)
    return path


def cluster_with(scheduler: Scheduler, tenants: list[str]):
    """One 1-GPU node per entry: a running 0.5-GPU job of that name, or empty for ""."""
    state = scheduler.new_state(nodes(*[1] * len(tenants)))
    for i, name in enumerate(tenants):
        if name:
            state.submit(job(name, gpus=0.5, name=name))
            state.start(name, Placement((NodeGrant(i, 1, (0,), 500),)), 0.0)
    return state


def placed(table, tenants: list[str], newcomer: str, threshold: float = 0.7) -> int:
    scheduler = Scheduler(parse_policy(POLICY.format(table=table, threshold=threshold), "t"))
    state = cluster_with(scheduler, tenants)
    state.submit(job(newcomer, gpus=0.5, name=newcomer))
    (decision,) = scheduler.cycle(state, 0.0).decisions
    assert isinstance(decision, Start)
    return decision.placement.grants[0].node


def test_a_task_joins_the_partner_it_interferes_with_least(table):
    """gemm beside gemm costs 0.6 + 0.6 extra and passes 70% utilisation; beside copy, 0.1 +
    0.15 within 65%: it joins the copy job rather than opening the empty GPU."""
    assert placed(table, ["gemm-a", "copy-a", ""], "gemm-new") == 1
    assert placed(table, ["copy-a", "gemm-a", ""], "gemm-new") == 0


def test_above_the_utilisation_threshold_a_fresh_gpu_wins(table):
    """Only a gemm partner or an empty GPU: 0.4 + 0.4 > 0.7, so the empty GPU (plain BestFit
    would pack)."""
    assert placed(table, ["gemm-a", ""], "gemm-new") == 1
    best_fit = Scheduler(load_policy("greedy"))
    state = cluster_with(best_fit, ["gemm-a", ""])
    state.submit(job("gemm-new", gpus=0.5, name="gemm-new"))
    assert best_fit.cycle(state, 0.0).decisions[0].placement.grants[0].node == 0


def test_without_the_rule_interference_alone_decides(table):
    """Threshold 2 (rule off): beside gemm scores 100 / 2.2, below the empty GPU's 100 - the
    50 points BestFit gives for packing; beside copy still wins."""
    assert placed(table, ["gemm-a", ""], "gemm-new", threshold=2.0) == 1
    assert placed(table, ["gemm-a", "copy-a", ""], "gemm-new", threshold=2.0) == 1


def test_jobs_placed_earlier_in_the_cycle_count_as_company(table):
    """Three jobs arrive together on two empty GPUs: copy-1 takes GPU 0; gemm-2 sees copy-1
    there (reserved in this cycle, not yet running) and joins it (utilisation 0.65); gemm-3
    finds that GPU full and takes the other."""
    scheduler = Scheduler(parse_policy(POLICY.format(table=table, threshold=0.7), "t"))
    state = cluster_with(scheduler, ["", ""])
    state.submit(job("copy-1", gpus=0.5, name="copy-1"))
    state.submit(job("gemm-2", gpus=0.5, name="gemm-2"))
    state.submit(job("gemm-3", gpus=0.5, name="gemm-3"))
    decisions = scheduler.cycle(state, 0.0).decisions
    where = {d.job_id: d.placement.grants[0].node for d in decisions}
    # gemm-2 joins copy-1 (util 0.65); gemm-3 sees that GPU full and the other empty.
    assert where == {"copy-1": 0, "gemm-2": 0, "gemm-3": 1}


def test_the_score_values_follow_the_table(table):
    plugin = InterferenceScore(InterferenceScoreArgs(table=str(table), max_utilisation=2.0,
                                                     job_classes={"gemm-*": "gemm",
                                                                  "copy-*": "copy"}))
    scheduler = Scheduler(load_policy("greedy"))
    state = cluster_with(scheduler, ["gemm-a", "copy-a", ""])
    scores = plugin.score(CycleState(state, 0.0), job("gemm-new", gpus=0.5, name="gemm-new"),
                          np.arange(3), np.ones(3, int), 1)
    assert scores == pytest.approx([100 / (1 + 0.6 + 0.6), 100 / (1 + 0.1 + 0.15), 100])
    whole = plugin.score(CycleState(state, 0.0), job("w", gpus=1), np.arange(3),
                         np.ones(3, int), 1)
    assert whole == 100.0


def test_an_unknown_job_is_the_tables_average_and_uses_its_share(table):
    plugin = InterferenceScore(InterferenceScoreArgs(table=str(table), max_utilisation=1.0))
    scheduler = Scheduler(load_policy("greedy"))
    state = cluster_with(scheduler, ["x"])
    [score] = plugin.score(CycleState(state, 0.0), job("y", gpus=0.5), np.arange(1),
                           np.ones(1, int), 1)
    mean = (1.6 + 1.1 + 1.15 + 1.2) / 4
    assert score == pytest.approx(100 / (1 + 2 * (mean - 1)))
    strict = InterferenceScore(InterferenceScoreArgs(table=str(table), max_utilisation=0.9))
    assert strict.score(CycleState(state, 0.0), job("y", gpus=0.5), np.arange(1),
                        np.ones(1, int), 1)[0] == 0.0  # 0.5 + 0.5 asked for > 0.9


def test_the_shipped_policy_loads_with_the_shipped_table():
    profile = load_policy("interference-aware")
    plugin = next(p for p, _ in profile.scores if isinstance(p, InterferenceScore))
    assert plugin.table.measured and plugin.args.max_utilisation == 0.7


@pytest.mark.parametrize(("args", "message"), [
    ({"max_utilisation": 0}, "max_utilisation must be a number in"),
    ({"max_utilisation": True}, "max_utilisation must be a number in"),
    ({"job_classes": {"bert-*": ""}}, "pattern and class must be non-empty strings"),
    ({"table": "no/such/table.csv"}, "cannot read the interference table"),
])
def test_bad_arguments_name_the_problem(args, message):
    with pytest.raises(ConfigError, match=message):
        InterferenceScoreArgs(**args).validate()
