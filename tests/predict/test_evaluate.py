"""evaluate: a time-ordered split, where a model that reads names beats the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from corral.model import ConfigError
from corral.predict import evaluate
from corral.predict.evaluate import score


def test_model_beats_the_fallback_when_names_and_gpus_set_the_duration(name_driven):
    result = evaluate(name_driven(800))
    assert result.jobs == 240
    assert result.model.mae < result.fallback.mae
    assert result.model.within_2x > result.fallback.within_2x
    assert result.model.within_2x > 0.75
    assert set(result.to_json()) == {"model", "fallback", "jobs"}
    assert set(result.to_json()["model"]) == {"mae", "mdape", "within_2x"}


def test_scores():
    scores = score(np.array([100.0, 300.0, 10.0]), np.array([100.0, 100.0, 40.0]))
    assert scores.mae == pytest.approx((0 + 200 + 30) / 3)
    assert scores.mdape == pytest.approx(75.0)
    assert scores.within_2x == pytest.approx(1 / 3)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5])
def test_train_fraction_must_leave_both_parts(fraction, name_driven):
    with pytest.raises(ConfigError, match="train fraction"):
        evaluate(name_driven(20), fraction)


def test_too_few_jobs_to_split(name_driven):
    with pytest.raises(ConfigError, match="too few"):
        evaluate(name_driven(1))
