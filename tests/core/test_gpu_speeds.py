"""The snapshot's GPU speed table: 1.0 everywhere until a backend sets it, validated."""

from __future__ import annotations

import math

import pytest

from builders import scheduler
from corral.model import InvalidSpec, Node


def state():
    return scheduler().new_state([Node("a", 8, "V100", 64_000, 512_000),
                                  Node("b", 4, "K80", 64_000, 512_000),
                                  Node("c", 2, "V100", 64_000, 512_000)])


def test_every_node_runs_at_reference_speed_until_told_otherwise():
    assert state().node_speed.tolist() == [1.0, 1.0, 1.0]


def test_speeds_are_set_per_gpu_type_and_unlisted_types_stay_at_one():
    cluster = state()
    cluster.set_gpu_speeds({"V100": 2.0, "A100": 4.0})
    assert cluster.node_speed.tolist() == [2.0, 1.0, 2.0]
    assert cluster.gpu_types == ("K80", "V100") and cluster.type_speed.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError):
        cluster.node_speed[0] = 3.0  # read-only: policies share it


@pytest.mark.parametrize("speed", [0, -1.0, math.nan, math.inf, True, "fast"])
def test_bad_speeds_are_named(speed):
    with pytest.raises(InvalidSpec, match="speed of GPU type 'K80'"):
        state().set_gpu_speeds({"K80": speed})
