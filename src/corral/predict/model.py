"""Gradient-boosted quantile regression of log-duration (p50 and p90), as a correction to the
fallback chain's answer.

Log-duration because DL job lengths span seconds to weeks: errors are multiplicative, and the
quantile loss on logs gives the quantiles of the durations themselves. The trees learn how far
a job's duration lies from the fallback's recent median (the ``fallback`` feature), not the
duration itself: where they learn nothing, the model answers the fallback, and a user's own
recent median, which trees can only cut into coarse steps, is kept exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from corral.predict.compiled_forest import CompiledForest
from corral.predict.features import FEATURE_NAMES, log_duration

MIN_TRAIN_JOBS = 50
"""Below this many finished jobs the model is not trained and the fallback answers."""

QUANTILES = (0.5, 0.9)

BASE = FEATURE_NAMES.index("fallback")
"""The column the trees correct (the fallback chain's log-duration, never unknown)."""


def min_leaf(jobs: int) -> int:
    """Jobs per leaf: 100 on a large history, so that one user's burst cannot make a leaf, but
    at most 2% of a small one, where a whole kind of job may be only a few dozen rows."""
    return int(min(100, max(10, jobs // 50)))


class QuantileModel:
    """One boosted model per quantile, fitted on submit-time features.

    Shallow trees and large leaves: users' habits drift between the training and the test
    period, and deeper models fitted the training period better but predicted worse.
    """

    def __init__(self, models: Sequence[HistGradientBoostingRegressor],
                 columns: np.ndarray) -> None:
        self._forest = CompiledForest(models, columns)

    @classmethod
    def fit(cls, rows: Sequence[Sequence[float]],
            durations: Sequence[float]) -> QuantileModel | None:
        """A model trained on ``rows`` and true ``durations``; None with too few of them."""
        if len(rows) < MIN_TRAIN_JOBS:
            return None
        # Columns never known (no job names in the trace) are dropped: they carry nothing.
        table = np.asarray(rows, dtype=float)
        columns = ~np.isnan(table).all(axis=0)
        features = table[:, columns]
        target = np.fromiter((log_duration(d) for d in durations), float, len(durations)) \
            - table[:, BASE]
        models = []
        # One thread: several simulations often run side by side (sweeps, CI), and OpenMP
        # workers spinning on oversubscribed cores made a 0.3 s fit take seconds.
        with threadpool_limits(limits=1, user_api="openmp"):
            for quantile in QUANTILES:
                model = HistGradientBoostingRegressor(
                    loss="quantile", quantile=quantile, max_iter=100, learning_rate=0.05,
                    max_depth=3, min_samples_leaf=min_leaf(len(rows)), early_stopping=False,
                    random_state=0)
                models.append(model.fit(features, target))
        return cls(models, columns)

    def predict(self, rows: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
        """p50 and p90 in seconds for each row (p90 never below p50)."""
        table = np.asarray(rows, dtype=float)
        raw = np.exp(self._forest.predict(table) + table[:, BASE, None])
        return raw[:, 0], np.maximum(raw[:, 1], raw[:, 0])
