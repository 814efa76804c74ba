"""Simulator parameters have documented ranges: a value outside is one ConfigError naming the
file and the field, so no run time becomes infinite or NaN (a null in summary.json)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.model import ConfigError
from corral.sim.config import GPU_SPEED_RANGE, LIMITS, SimConfig, load_sim_config

ABSURD = [math.nan, math.inf, -math.inf, 1e300, -1, "x", True, [1]]


@pytest.mark.parametrize("field", sorted(LIMITS))
@pytest.mark.parametrize("value", ABSURD, ids=repr)
def test_each_numeric_field_is_bounded(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"sim config: {field} must be"):
        SimConfig(**{field: value})


@pytest.mark.parametrize("field", sorted(LIMITS))
def test_each_bound_is_accepted(field: str) -> None:
    low, high = LIMITS[field]
    for value in (low, high):
        assert getattr(SimConfig(**{field: value}), field) == value


@pytest.mark.parametrize("speed", [1e-300, 0.0009, 1001, math.nan, math.inf, 0, "2", False])
def test_gpu_speed_is_bounded(speed: object) -> None:
    with pytest.raises(ConfigError, match=r"gpu_speed\.X must be a number in"):
        SimConfig(gpu_speed={"X": speed})
    assert SimConfig(gpu_speed={"X": GPU_SPEED_RANGE[0], "Y": GPU_SPEED_RANGE[1]})


@pytest.mark.parametrize(("text", "message"), [
    ("preemption_overhead_s = 1e300\n", "preemption_overhead_s must be a number in [0, 86,400]"),
    ("[gpu_speed]\nX = 1e-300\n", "gpu_speed.X must be a number in [0.001, 1,000]"),
    ("share_slowdown = nan\n", "share_slowdown must be a number in [0, 100]"),
    ("job_epochs = 1e9\n", "job_epochs must be an integer in [1, 1,000,000]"),
    ("reference_gpu_type = 3\n", "reference_gpu_type must be a GPU type name"),
], ids=["overhead", "speed", "nan", "float-count", "type"])
def test_files_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_sim_config(path)
    assert str(raised.value).startswith(f"{path}: sim config: {message}")


def test_a_binary_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_sim_config(path)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(LIMITS)),
       value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                       st.booleans(), st.text(max_size=2)))
def test_any_value_is_in_range_or_refused(field: str, value: object) -> None:
    try:
        config = SimConfig(**{field: value})
    except ConfigError as exc:
        assert field in str(exc)
        return
    low, high = LIMITS[field]
    assert low <= getattr(config, field) <= high
