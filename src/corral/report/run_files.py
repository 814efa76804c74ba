"""The files of a run on disk: ``summary.json``, ``jobs.csv``, ``timeseries.csv``, ``queues.csv``
and ``queue_timeseries.csv``.

They are the machine-readable record of a run, so identical results must give identical bytes:
keys and columns follow the fixed orders in :mod:`corral.sim.result`, floats are written with
Python's shortest round-trip representation (lossless, and the same on every platform), and
lines end with ``\\n`` everywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corral.sim.result import (
    JOB_COLUMNS,
    QUEUE_COLUMNS,
    QUEUE_SERIES_COLUMNS,
    SUMMARY_KEYS,
    TIMESERIES_COLUMNS,
    SimulationResult,
)

SUMMARY_FILE = "summary.json"
JOBS_FILE = "jobs.csv"
TIMESERIES_FILE = "timeseries.csv"
QUEUES_FILE = "queues.csv"
QUEUE_SERIES_FILE = "queue_timeseries.csv"


def write_run(result: SimulationResult, out_dir: Path) -> list[Path]:
    """Write the run's files into *out_dir* (created if needed); return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / SUMMARY_FILE
    summary_path.write_text(summary_json(result.summary), encoding="utf-8", newline="\n")
    jobs_path = out_dir / JOBS_FILE
    _write_csv(result.jobs, JOB_COLUMNS, jobs_path)
    timeseries_path = out_dir / TIMESERIES_FILE
    _write_csv(result.timeseries, TIMESERIES_COLUMNS, timeseries_path)
    queues_path = out_dir / QUEUES_FILE
    _write_csv(result.queues, QUEUE_COLUMNS, queues_path)
    queue_series_path = out_dir / QUEUE_SERIES_FILE
    _write_csv(result.queue_series, QUEUE_SERIES_COLUMNS, queue_series_path)
    return [summary_path, jobs_path, timeseries_path, queues_path, queue_series_path]


def summary_json(summary: Mapping[str, Any]) -> str:
    """The summary as JSON text: SUMMARY_KEYS first in their order, then any others sorted.

    Non-finite floats (a percentile of no jobs) become ``null``, because JSON has no NaN and
    strict parsers reject it.
    """
    ordered = {key: summary[key] for key in SUMMARY_KEYS if key in summary}
    ordered.update((key, summary[key]) for key in sorted(summary) if key not in ordered)
    return json.dumps(_plain(ordered), indent=2, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    """Turn numpy scalars and non-finite floats into what :mod:`json` writes portably."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _write_csv(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"{path.name}: result lacks column(s) {missing}")
    frame.loc[:, list(columns)].to_csv(
        path, index=False, lineterminator="\n", encoding="utf-8", na_rep=""
    )
