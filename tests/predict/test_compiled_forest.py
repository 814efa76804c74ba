"""The flattened trees predict exactly what scikit-learn predicts, gaps included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from corral.predict.compiled_forest import CompiledForest


def test_equals_scikit_learn_on_rows_with_unknown_values():
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(3000, 6))
    rows[rng.random(rows.shape) < 0.2] = np.nan
    target = np.nan_to_num(rows[:, 0]) * 2 + np.isnan(rows[:, 1]) + rng.normal(size=3000)
    models = [HistGradientBoostingRegressor(loss="quantile", quantile=q, max_iter=30,
                                            max_depth=depth, random_state=0).fit(rows, target)
              for q, depth in ((0.5, 3), (0.9, 5))]
    forest = CompiledForest(models)
    expected = np.column_stack([model.predict(rows) for model in models])
    assert np.allclose(forest.predict(rows), expected, rtol=0, atol=1e-9)
    assert np.allclose(forest.predict(rows[:1]), expected[:1], rtol=0, atol=1e-9)


def test_reads_the_fitted_columns_out_of_wider_rows():
    rng = np.random.default_rng(5)
    rows = rng.normal(size=(500, 5))
    rows[rng.random(rows.shape) < 0.2] = np.nan
    fitted = np.array([False, True, False, True, True])
    target = np.nan_to_num(rows[:, 1]) - np.isnan(rows[:, 4]) + rng.normal(size=500)
    model = HistGradientBoostingRegressor(max_iter=20, max_depth=3, random_state=0)
    model.fit(rows[:, fitted], target)
    forest = CompiledForest([model], fitted)
    assert np.allclose(forest.predict(rows)[:, 0], model.predict(rows[:, fitted]), rtol=0,
                       atol=1e-9)


def test_rows_of_another_width_are_refused():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(200, 3))
    model = HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(rows, rows[:, 0])
    with pytest.raises(ValueError, match="columns"):
        CompiledForest([model]).predict(rows[:, :2])
