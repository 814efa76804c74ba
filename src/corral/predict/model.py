"""Gradient-boosted quantile regression of log-duration (p50 and p90).

Log-duration because DL job lengths span seconds to weeks: errors are multiplicative, and the
quantile loss on logs gives the quantiles of the durations themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from corral.predict.features import log_duration

MIN_TRAIN_JOBS = 50
"""Below this many finished jobs the model is not trained and the fallback answers."""

QUANTILES = (0.5, 0.9)


class QuantileModel:
    """One boosted model per quantile, fitted on submit-time features.

    Shallow trees and large leaves: users' habits drift between the training and the test
    period, and deeper models fitted the training period better but predicted worse.
    """

    def __init__(self, models: Sequence[HistGradientBoostingRegressor],
                 columns: np.ndarray) -> None:
        self._models = tuple(models)
        self._columns = columns

    @classmethod
    def fit(cls, rows: Sequence[Sequence[float]],
            durations: Sequence[float]) -> QuantileModel | None:
        """A model trained on ``rows`` and true ``durations``; None with too few of them."""
        if len(rows) < MIN_TRAIN_JOBS:
            return None
        # Columns never known (no job names in the trace) are dropped: they carry nothing.
        columns = ~np.isnan(np.asarray(rows, dtype=float)).all(axis=0)
        features = np.asarray(rows, dtype=float)[:, columns]
        target = np.fromiter((log_duration(d) for d in durations), float, len(durations))
        models = []
        for quantile in QUANTILES:
            model = HistGradientBoostingRegressor(
                loss="quantile", quantile=quantile, max_iter=100, learning_rate=0.05,
                max_depth=3, min_samples_leaf=100, early_stopping=False, random_state=0)
            models.append(model.fit(features, target))
        return cls(models, columns)

    def predict(self, rows: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
        """p50 and p90 in seconds for each row (p90 never below p50)."""
        features = np.asarray(rows, dtype=float)[:, self._columns]
        p50, p90 = (np.exp(model.predict(features)) for model in self._models)
        return p50, np.maximum(p90, p50)
