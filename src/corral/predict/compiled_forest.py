"""Boosted trees flattened into numpy arrays, for predicting one job at a time quickly.

The simulator asks for one prediction per arriving job. scikit-learn's ``predict`` validates
its input and walks its trees one by one, about a millisecond per call, which on a 100k-job
trace costs more than the whole replay. Here the trees of several fitted models are stacked
into flat node arrays and walked together, one level per numpy step, so a call costs tens of
microseconds. The result equals ``predict`` (the tests compare the two on data with gaps).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor


class CompiledForest:
    """The trees of ``models`` (numerical splits only); :meth:`predict` gives one column per
    model."""

    def __init__(self, models: Sequence[HistGradientBoostingRegressor],
                 fitted_columns: np.ndarray | None = None) -> None:
        """*fitted_columns*: a boolean mask over the columns of the rows :meth:`predict` gets,
        true for those the models were fitted on (default: all of them)."""
        nodes: list[np.ndarray] = []
        roots: list[int] = []
        owner: list[int] = []
        offset = 0
        for index, model in enumerate(models):
            for iteration in model._predictors:
                for predictor in iteration:
                    tree = predictor.nodes
                    if tree["is_categorical"].any():
                        raise ValueError("categorical splits are not supported")
                    nodes.append(tree)
                    roots.append(offset)
                    owner.append(index)
                    offset += len(tree)
        flat = np.concatenate(nodes)
        shift = np.repeat(np.asarray(roots, dtype=np.int64), [len(t) for t in nodes])
        if fitted_columns is None:
            fitted_columns = np.ones(int(models[0].n_features_in_), dtype=bool)
        position = np.flatnonzero(fitted_columns)
        self._width = width = len(fitted_columns)
        # A row is read as two copies side by side: unknowns as -inf (they go left, as
        # ``-inf <= t`` holds) and as NaN (they go right, as ``nan <= t`` never holds); each
        # node reads the copy its missing-value rule picks, so a level is one comparison.
        self._column = position[flat["feature_idx"].astype(np.int64)] + \
            np.where(flat["missing_go_to_left"].astype(bool), 0, width)
        self._threshold = flat["num_threshold"]
        leaf = flat["is_leaf"].astype(bool)
        # A leaf points at itself, so walking every tree the same number of steps is harmless.
        here = np.arange(len(flat), dtype=np.int64)
        right = np.where(leaf, here, flat["right"].astype(np.int64) + shift)
        left = np.where(leaf, here, flat["left"].astype(np.int64) + shift)
        self._child = np.stack([right, left])
        """Row 0: where a node sends a row that goes right; row 1: left."""
        self._value = flat["value"]
        self._roots = np.asarray(roots, dtype=np.int64)
        # Each model's trees are one contiguous block: where each block starts.
        self._starts = np.searchsorted(np.asarray(owner), np.arange(len(models)))
        self._depth = int(flat["depth"].max())
        self._baseline = np.array([float(np.ravel(m._baseline_prediction)[0]) for m in models])

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Raw predictions, shape (rows, models), for a 2-D float array with NaN for unknown."""
        rows = np.asarray(rows, dtype=float)
        if rows.shape[1] != self._width:
            raise ValueError(f"rows have {rows.shape[1]} columns; the forest reads {self._width}")
        both = np.concatenate([np.where(np.isnan(rows), -np.inf, rows), rows], axis=1)
        node = np.broadcast_to(self._roots, (len(rows), len(self._roots))).copy()
        line = np.arange(len(rows))[:, None]
        for _ in range(self._depth):
            go_left = both[line, self._column[node]] <= self._threshold[node]
            node = self._child[go_left.view(np.int8), node]
        return np.add.reduceat(self._value[node], self._starts, axis=1) + self._baseline
