"""HeterogeneityAware: the faster GPU type while it is free for the taking, the idle type when
waiting jobs that need the fast one claim it, and soft preferences on top."""

from __future__ import annotations

import re

import numpy as np
import pytest

from builders import job, scheduler
from corral.core import ClusterState, CycleState, Start
from corral.model import ConfigError, Node
from corral.plugins.heterogeneity_aware import HeterogeneityAware, HeterogeneityAwareArgs
from corral.policies import parse_policy

SPEEDS = {"V100": 1.5, "K80": 0.5}


def typed_nodes(*spec: tuple[str, int]) -> list[Node]:
    """One node per (GPU type, GPUs) pair, named n0, n1, ..."""
    return [Node(f"n{i}", gpus, gpu_type, 64_000, 512_000)
            for i, (gpu_type, gpus) in enumerate(spec)]


def cluster(*spec: tuple[str, int], speeds=SPEEDS, waiting=()) -> ClusterState:
    state = scheduler("gavel").new_state(typed_nodes(*spec))
    state.set_gpu_speeds(speeds)
    for waiting_job in waiting:
        state.submit(waiting_job)
    return state


def scores(state: ClusterState, target, plugin=None) -> list[float]:
    """The plugin's score of every node for *target* (one task left to place)."""
    plugin = plugin or HeterogeneityAware()
    every = np.arange(len(state.nodes))
    result = plugin.score(CycleState(state, 0.0), target, every, np.ones_like(every), 1)
    return np.broadcast_to(result, every.shape).round(1).tolist()


def test_the_faster_type_scores_higher_in_proportion_to_its_speed():
    state = cluster(("K80", 8), ("V100", 8))
    assert scores(state, job("a")) == [pytest.approx(33.3), 100.0]


def test_speed_is_normalised_to_the_fastest_type_the_job_may_use():
    state = cluster(("K80", 8), ("P100", 8), ("V100", 8),
                    speeds={"V100": 2.0, "P100": 1.0, "K80": 0.5})
    assert scores(state, job("a", gpu_types=("K80", "P100")))[:2] == [50.0, 100.0]


def test_a_fast_type_claimed_by_jobs_that_need_it_loses_to_the_idle_one():
    # 4 V100 GPUs free, and a waiting job that may only use V100 asks for all 4: a job that
    # can run anywhere should take the K80 rather than delay it.
    state = cluster(("K80", 8), ("V100", 4), waiting=[job("v100-only", gpus=4,
                                                          gpu_types=("V100",))])
    flexible = job("flexible")
    state.submit(flexible)
    k80, v100 = scores(state, flexible)
    assert k80 > v100 == 0.0


def test_a_partly_claimed_fast_type_is_discounted_by_the_claimed_share():
    state = cluster(("K80", 8), ("V100", 8), waiting=[job("v100-only", gpus=2,
                                                          gpu_types=("V100",))])
    assert scores(state, job("flexible")) == [pytest.approx(33.3), 75.0]  # 2 of 8 claimed


def test_a_job_is_not_deterred_by_its_own_claim():
    prefers = job("prefers", gpus=8, preferred_gpu_types=("V100",))
    state = cluster(("K80", 8), ("V100", 8), waiting=[prefers])
    k80, v100 = scores(state, prefers)
    assert v100 == 100.0 and k80 < v100


def test_jobs_that_may_use_every_type_claim_nothing():
    state = cluster(("K80", 8), ("V100", 8),
                    waiting=[job("any", gpus=8, gpu_types=("K80", "V100")), job("untyped")])
    assert scores(state, job("flexible")) == [pytest.approx(33.3), 100.0]


def test_only_the_lookahead_window_of_the_queue_is_counted():
    state = cluster(("K80", 8), ("V100", 4),
                    waiting=[job("first"), job("v100-only", gpus=4, gpu_types=("V100",))])
    narrow = HeterogeneityAware(HeterogeneityAwareArgs(lookahead=1))
    assert scores(state, job("flexible"), narrow)[1] == 100.0
    assert scores(state, job("flexible"))[1] == 0.0


def test_a_preferred_type_ranks_first_unless_its_weight_is_lowered():
    state = cluster(("K80", 8), ("V100", 8))
    likes_k80 = job("likes-k80", preferred_gpu_types=("K80",))
    assert scores(state, likes_k80) == [pytest.approx(100 * (1 / 3 + 1) / 2, abs=0.1), 50.0]
    mild = HeterogeneityAware(HeterogeneityAwareArgs(preference=0.25))
    k80, v100 = scores(state, likes_k80, mild)
    assert v100 > k80 == pytest.approx(100 * (1 / 3 + 0.25) / 1.25, abs=0.1)


def test_a_single_type_cluster_is_scored_uniformly():
    state = cluster(("V100", 8), ("V100", 4))
    assert HeterogeneityAware().score(CycleState(state, 0.0), job("a"), np.arange(2),
                                      np.ones(2, dtype=np.int64), 1) == 100.0


def test_the_gavel_cycle_puts_a_job_on_the_fast_type_despite_a_tighter_slow_node():
    # BestFit alone would fill the K80 node's last free GPU.
    state = cluster(("K80", 8), ("V100", 8))
    state.submit(job("k80-filler", gpus=7, gpu_types=("K80",)))
    sched = scheduler("gavel")
    first = sched.cycle(state, 0.0, assume=True).decisions
    assert [d.job_id for d in first] == ["k80-filler"]
    state.submit(job("one"))
    (start,) = sched.cycle(state, 1.0, assume=True).decisions
    assert isinstance(start, Start) and start.placement.nodes == (1,)
    assert scheduler("tiresias").cycle(state, 1.0).decisions == []  # nothing left to place


@pytest.mark.parametrize("args, message", [
    ({"preference": -1}, "preference"),
    ({"preference": True}, "preference"),
    ({"lookahead": 0}, "lookahead"),
    ({"lookahead": 2.5}, "lookahead"),
], ids=["negative-preference", "bool-preference", "zero-lookahead", "float-lookahead"])
def test_bad_arguments_are_named(args, message):
    with pytest.raises(ConfigError, match=message):
        HeterogeneityAwareArgs(**args).validate()


def test_arguments_come_from_the_policy_file():
    policy = parse_policy("""
name = "typed"
[plugins]
queue_sort = "FifoOrder"
filter = ["ResourceFit", "GpuTypeFilter"]
score = [{ name = "HeterogeneityAware", weight = 2 }]
permit = ["StrictGang"]
[plugin_args.HeterogeneityAware]
preference = 1.0
lookahead = 16
""", "typed.toml")
    (plugin, weight), = policy.scores
    assert isinstance(plugin, HeterogeneityAware) and weight == 2
    assert plugin.args == HeterogeneityAwareArgs(preference=1.0, lookahead=16)


THROUGHPUT = """# source: trial runs
job_class,gpu_type,relative_speed,throughput,unit,trials
bert,K80,1.0,10,samples/s,1
bert,V100,4.0,40,samples/s,1
resnet,K80,1.0,10,samples/s,1
resnet,V100,1.2,12,samples/s,1
"""


def test_a_measured_throughput_table_gives_each_job_class_its_own_speeds(tmp_path):
    """The backend says V100 is 3x K80 for everyone; trials say bert gains 4x, resnet 1.2x,
    and jobs the table does not know keep the backend's speeds."""
    path = tmp_path / "throughput.csv"
    path.write_text(THROUGHPUT)
    plugin = HeterogeneityAware(HeterogeneityAwareArgs(
        throughput_table=str(path), job_classes={"bert-*": "bert", "resnet*": "resnet"}))
    state = cluster(("K80", 8), ("V100", 8))
    assert scores(state, job("a", name="bert-large"), plugin) == [25.0, 100.0]
    assert scores(state, job("b", name="resnet50"), plugin) == [pytest.approx(83.3), 100.0]
    assert scores(state, job("c", name="gpt"), plugin) == [pytest.approx(33.3), 100.0]
    by_name = HeterogeneityAware(HeterogeneityAwareArgs(throughput_table=str(path)))
    assert scores(state, job("d", name="resnet"), by_name) == [pytest.approx(83.3), 100.0]


def test_a_measured_table_can_send_a_job_to_the_type_it_gains_little_from(tmp_path):
    """Two types, each with free GPUs claimed by nobody: resnet barely gains from V100, but
    the V100 is still faster for it; a table where it is slower there sends it to K80."""
    path = tmp_path / "throughput.csv"
    path.write_text(THROUGHPUT.replace("resnet,V100,1.2,12", "resnet,V100,0.8,8"))
    plugin = HeterogeneityAware(HeterogeneityAwareArgs(throughput_table=str(path)))
    state = cluster(("K80", 8), ("V100", 8))
    result = scores(state, job("r", name="resnet"), plugin)
    assert result[0] > result[1]


@pytest.mark.parametrize(("text", "message"), [
    ("job_class,gpu_type\n", "missing column(s) relative_speed"),
    ("job_class,gpu_type,relative_speed\nbert,K80,0\n", "relative_speed must be a number > 0"),
    ("job_class,gpu_type,relative_speed\nbert,K80,1\nbert,K80,2\n", "bert on K80 is listed twice"),
])
def test_a_malformed_throughput_table_is_refused_naming_the_problem(tmp_path, text, message):
    path = tmp_path / "throughput.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        HeterogeneityAwareArgs(throughput_table=str(path)).validate()
