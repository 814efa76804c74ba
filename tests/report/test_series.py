"""Shrinking series for charts: bin means keep the area under a step function, CDFs keep
their ends."""

from __future__ import annotations

import numpy as np
import pytest

from corral.report.series import binned_step_mean, cdf_points


def test_bin_means_of_a_step_function() -> None:
    # 0 before t=1, 4 on [1, 3), 2 from 3 on.
    means = binned_step_mean(np.array([1.0, 3.0]), np.array([4.0, 2.0]),
                             np.array([0.0, 2.0, 4.0, 6.0]))
    assert means == pytest.approx([2.0, 3.0, 2.0])


def test_the_last_of_tied_times_holds() -> None:
    means = binned_step_mean(np.array([0.0, 0.0, 2.0]), np.array([9.0, 1.0, 5.0]),
                             np.array([0.0, 2.0, 4.0]))
    assert means == pytest.approx([1.0, 5.0])


def test_bins_keep_the_area() -> None:
    rng = np.random.default_rng(1)
    times = np.sort(rng.uniform(0, 100, 1_000))
    values = rng.integers(0, 50, 1_000).astype(float)
    edges = np.linspace(0, 120, 7)
    area = float((values[:-1] * np.diff(times)).sum() + values[-1] * (120 - times[-1]))
    assert (binned_step_mean(times, values, edges) * np.diff(edges)).sum() == pytest.approx(area)


def test_empty_series_is_zero() -> None:
    assert binned_step_mean(np.array([]), np.array([]), np.linspace(0, 1, 4)).tolist() == [0] * 3


def test_cdf_points_keep_both_ends_and_skip_nan() -> None:
    values = np.concatenate([np.arange(10_000, 0, -1, dtype=float), [np.nan]])
    x, y = cdf_points(values, max_points=100)
    assert len(x) == 100
    assert (x[0], y[0]) == (1.0, 1 / 10_000)
    assert (x[-1], y[-1]) == (10_000.0, 1.0)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) > 0)


def test_short_cdf_is_exact() -> None:
    x, y = cdf_points(np.array([3.0, 1.0, 2.0]))
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert y == pytest.approx([1 / 3, 2 / 3, 1.0])
