"""History rows as a trace ``corral simulate`` reads (the ``corral-history`` format).

The inverse of :mod:`corral.history.trace_import` for live history: each attempt becomes a
row with its submit time and measured run time, so a cluster's own past can be replayed under
other policies.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import IO, Any

from corral.traces.corral_history import FORMAT


def write_trace(rows: Iterable[Mapping[str, Any]], out: IO[str]) -> int:
    """Write *rows* (history attempts) as a corral-history CSV to *out*; how many rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FORMAT.columns)
    written = 0
    for row in sorted(rows, key=lambda r: (r["submit"], r["source"], r["job_id"],
                                           r["attempt"])):
        writer.writerow([row["job_id"], row["attempt"], f"{row['submit']:.3f}",
                         f"{max(0.0, row['end'] - row['start']):.3f}", row["tasks"],
                         row["gpu_milli"], row["gpu_type"], row["queue"], row["user"],
                         row["outcome"]])
        written += 1
    return written
