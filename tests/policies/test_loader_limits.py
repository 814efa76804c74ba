"""Policy numbers have ranges: a tick from 1 s to a day, score weights in (0, 1000]; NaN,
infinity and absurd values are errors naming the file and the field, never taken silently."""

from __future__ import annotations

import pytest

from corral.model import ConfigError
from corral.policies import parse_policy

GOOD = """
name = "p"
[plugins]
queue_sort = "FifoOrder"
filter = ["ResourceFit"]
permit = ["StrictGang"]
"""


@pytest.mark.parametrize("tick", ["0.001", "0.5", "86401", "1e300", "nan", "inf"])
def test_tick_outside_its_range(tick: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_policy(f"tick_seconds = {tick}\n" + GOOD, "mine.toml")
    assert str(raised.value).startswith(
        "mine.toml: tick_seconds must be a number of seconds in [1, 86,400], got ")


@pytest.mark.parametrize("tick", [1, 300, 86_400])
def test_tick_within_its_range(tick: int) -> None:
    assert parse_policy(f"tick_seconds = {tick}\n" + GOOD, "mine.toml").tick_seconds == tick


@pytest.mark.parametrize("weight", ["nan", "inf", "-inf", "1e300", "1000.5", "0"])
def test_score_weights_outside_their_range(weight: str) -> None:
    text = GOOD + f'score = [{{ name = "BestFit", weight = {weight} }}]\n'
    with pytest.raises(ConfigError) as raised:
        parse_policy(text, "mine.toml")
    assert str(raised.value).startswith("mine.toml: plugins.score: entry {'name': 'BestFit'")
    assert "weight = <number in (0, 1000]>" in str(raised.value)


def test_score_weight_at_its_bound() -> None:
    text = GOOD + 'score = [{ name = "BestFit", weight = 1000 }]\n'
    assert parse_policy(text, "mine.toml").scores[0][1] == 1000


def test_las_starvation_factor_of_the_wrong_type() -> None:
    """The probe's case: a string where a number belongs."""
    text = GOOD.replace('"FifoOrder"', '"LasOrder"') + \
        '[plugin_args.LasOrder]\nstarvation_factor = "x"\n'
    with pytest.raises(ConfigError) as raised:
        parse_policy(text, "mine.toml")
    assert str(raised.value) == (
        "mine.toml: plugin_args.LasOrder: LasOrder.starvation_factor must be a number in "
        "(0, 1,000,000] or absent, got 'x'")


@pytest.mark.parametrize("thresholds", ["[nan]", "[inf]", "[1, nan]", "[3250, 1e300]", "5"])
def test_las_thresholds_must_be_finite(thresholds: str) -> None:
    text = GOOD.replace('"FifoOrder"', '"LasOrder"') + \
        f"[plugin_args.LasOrder]\nthresholds = {thresholds}\n"
    with pytest.raises(ConfigError, match=r"plugin_args\.LasOrder: LasOrder\.thresholds must be"):
        parse_policy(text, "mine.toml")
