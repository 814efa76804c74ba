"""Model validation: impossible specs are refused with a message naming the problem."""

import pytest

from corral.model import InvalidSpec, Job, Node, Queue, gpus_to_milli


@pytest.mark.parametrize("value, milli", [(0.1, 100), ("0.25", 250), (8, 8000), (0, 0)])
def test_gpus_to_milli_is_exact(value, milli):
    assert gpus_to_milli(value) == milli


@pytest.mark.parametrize("value", [-1, "abc", float("nan"), float("inf"), 0.0001])
def test_gpus_to_milli_rejects_bad_values(value):
    with pytest.raises(InvalidSpec):
        gpus_to_milli(value)


@pytest.mark.parametrize("kwargs, message", [
    ({"tasks": 0}, "tasks"),
    ({"gpu_milli": 1500}, "whole number of GPUs"),
    ({"gpu_milli": -5}, "negative"),
    ({"submit": -1.0}, "submit"),
    ({"duration": float("nan")}, "duration"),
    ({"cpu_milli": -1}, "CPU"),
    ({"max_tasks_per_node": 0}, "max_tasks_per_node"),
    ({"node_rules": ({"zone": "a"},)}, "node_rules"),
], ids=["no-tasks", "one-and-a-half-gpus", "negative-gpus", "negative-submit", "nan-duration",
        "negative-cpu", "zero-per-node", "rules-not-node-constraints"])
def test_impossible_jobs_are_refused(kwargs, message):
    args = {"submit": 0.0, **kwargs}
    with pytest.raises(InvalidSpec, match=message):
        Job("j", **args)


def test_job_shape_and_hidden_duration():
    j = Job("j", 3.0, tasks=2, gpu_milli=250, duration=50.0, user="u")
    assert j.gpus == 0.5 and j.is_fractional and j.shape == (2, 2, 250, 0, 0, (), None, (), None)
    hidden = j.without_duration()
    assert hidden.duration is None and hidden.user == "u" and hidden.shape == j.shape


def test_jobs_restricted_to_different_nodes_have_different_shapes():
    anywhere = Job("a", 0.0)
    here = Job("b", 0.0, eligible_nodes=frozenset({"n0"}))
    there = Job("c", 0.0, eligible_nodes=frozenset({"n1"}))
    assert len({anywhere.shape, here.shape, there.shape}) == 3
    assert here.shape == Job("d", 0.0, eligible_nodes=frozenset({"n0"})).shape
    with pytest.raises(InvalidSpec, match="eligible_nodes"):
        Job("e", 0.0, eligible_nodes=["n0"])  # type: ignore[arg-type]


def test_node_and_queue_validation():
    with pytest.raises(InvalidSpec):
        Node("n", -1)
    with pytest.raises(InvalidSpec):
        Queue("q", weight=0)


def test_room_to_grow_is_bounded_but_a_rigid_jobs_size_is_for_the_cluster_to_judge() -> None:
    with pytest.raises(InvalidSpec, match="max_tasks 2000000 asks for more than 1,000,000 GPUs"):
        Job("elastic", 0.0, tasks=2, max_tasks=2_000_000, duration=1.0)
    assert Job("huge", 0.0, tasks=2_000_000, duration=1.0).max_tasks == 2_000_000
