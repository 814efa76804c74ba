"""The packing experiment on the console and on disk: a table of policies, ``pack.csv`` and
``pack.png``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich import box
from rich.table import Table

from corral.report.run_files import _write_csv
from corral.report.summary_table import MISSING
from corral.sim.packing import PACK_COLUMNS, PackRun

PACK_FILE = "pack.csv"
PACK_PLOT = "pack.png"
LOAD_POINTS = (50.0, 70.0, 90.0, 110.0)
"""Arrived loads (% of GPU capacity) at which the table shows fragmentation, where reached."""


def pack_table(runs: Sequence[PackRun], title: str = "") -> Table:
    """One row per policy: how far it got before a task first failed to fit, and its
    fragmentation along the way, as percentages of GPU capacity."""
    reach = max(float(run.arrivals["arrived_pct"].max()) for run in runs)
    points = [p for p in LOAD_POINTS if p <= reach]
    past_failure = any(run.until is not None for run in runs)
    caption = ("placed: tasks placed before the first failure; alloc, frag: GPUs allocated and "
               "fragmented then; @N%: fragmented once N% had arrived"
               + ("; end: allocated at the end" if past_failure else ""))
    table = Table(title=title or "Packing (% of GPU capacity)", title_justify="left",
                  caption=caption, caption_justify="left", box=box.SIMPLE_HEAD,
                  padding=(0, 1))
    table.add_column("policy", style="bold", no_wrap=True)
    for header in ("placed", "alloc", "frag", *(f"@{p:g}%" for p in points)):
        table.add_column(header, justify="right", no_wrap=True)
    if past_failure:
        table.add_column("end", justify="right", no_wrap=True)
    for run in runs:
        first = run.first_failure()
        cells = [run.policy]
        if first is None:
            cells += [f"{len(run.arrivals):,}", MISSING, MISSING]
        else:
            cells += [f"{int(first['arrival']):,}", _pct(first["allocated_pct"]),
                      _pct(first["frag_pct"])]
        for point in points:
            row = run.at_load(point)
            cells.append(MISSING if row is None else _pct(row["frag_pct"]))
        if past_failure:
            cells.append(_pct(run.arrivals["allocated_pct"].iloc[-1]))
        table.add_row(*cells)
    return table


def write_pack(runs: Sequence[PackRun], out_dir: Path, title: str = "") -> list[Path]:
    """Write ``pack.csv`` (every arrival of every policy) and ``pack.png`` into *out_dir*."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / PACK_FILE
    _write_csv(pd.concat([run.arrivals for run in runs], ignore_index=True), PACK_COLUMNS,
               csv_path)
    # Imported here: matplotlib takes most of a second to load, and only the plot needs it.
    from corral.report.pack_plot import pack_plot

    return [csv_path, pack_plot(runs, out_dir / PACK_PLOT, title)]


def _pct(value: float) -> str:
    return f"{float(value):.1f}%"
