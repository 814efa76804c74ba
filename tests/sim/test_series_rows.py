"""Time-series rows stored as columns read back as the tuples and table they were."""

from __future__ import annotations

import pandas as pd
import pytest

from corral.sim.metrics import queue_series_table
from corral.sim.result import QUEUE_SERIES_COLUMNS
from corral.sim.series_rows import SeriesRows


def test_rows_come_back_as_appended_and_as_the_table_tuples_give():
    rows = [(0.0, "a", 1.5, 2.0), (0.0, "b", 0.0, 8.0), (7.25, "a", 0.0, 0.0)]
    series = SeriesRows(QUEUE_SERIES_COLUMNS, "dsdd")
    assert not series and series.frame().empty
    for row in rows:
        series.append(row)
    assert len(series) == 3 and list(series) == rows
    assert series[-1] == rows[-1] and series[0] == rows[0]
    pd.testing.assert_frame_equal(queue_series_table(series), queue_series_table(rows))


def test_kinds_must_match_the_columns():
    with pytest.raises(ValueError, match="one kind"):
        SeriesRows(("time", "count"), "dx")
    with pytest.raises(ValueError, match="one kind"):
        SeriesRows(("time", "count"), "d")
