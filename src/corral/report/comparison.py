"""Several policies replayed on one trace and cluster, side by side, at one load or several.

A comparison is the smallest sweep: one trace, one seed, the given policies at the given
loads. It runs through :mod:`corral.sweep` like any other sweep, so it shares its up-front
checks and its worker processes; this module turns the results into tables and files, for
comparisons and sweeps alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from corral.report.load_curves import LOAD_CURVES_FILE, plot_load_curves
from corral.report.run_files import _plain, _write_csv, summary_json, write_run
from corral.report.summary_table import _count, _duration_row, _finite, _number
from corral.sim.result import SUMMARY_KEYS, SimulationResult
from corral.sweep import LocalProcesses, build_grid, run_sweep
from corral.sweep.grid import load_text
from corral.traces import Trace

COMPARISON_FILE = "comparison.csv"
REPORT_FILE = "report.html"

FOLDER_PARTS = ("trace", "policy", "load", "seed")
"""The summary keys that can name a run's folder under ``--out``, outermost first."""


def compare(
    trace: str | Path | Trace | None,
    policies: Sequence[str | Path],
    cluster: str | Path | None = None,
    *,
    seed: int = 0,
    limit: int | None = None,
    workers: int | None = None,
    on_done: Callable[[int, int], None] | None = None,
    load: float | Sequence[float] = 1.0,
    queues: str | Path | None = None,
    sim_config: str | Path | None = None,
) -> list[SimulationResult]:
    """Replay *trace* on *cluster* under each policy, at each load if *load* is a list.

    Arguments mean what they mean for :func:`corral.api.simulate`. Results come one per
    (load, policy), loads in the order given, policies in the order given within each load.
    *workers* defaults to one process per run, at most one per CPU; with one worker the runs
    stay in this process. *on_done(finished, total)* is called as runs finish. Everything is
    checked before any run starts; a run that fails raises :class:`~corral.sweep.SweepError`
    naming it, after the others have finished.
    """
    loads = [load] if isinstance(load, int | float) else list(load)
    grid = build_grid([trace], policies, loads=loads, seeds=[seed], cluster=cluster,
                      limit=limit, queues=queues, sim_config=sim_config)
    return run_sweep(grid, LocalProcesses(workers), on_done)


def comparison_table(results: Sequence[SimulationResult]) -> pd.DataFrame:
    """One row per run, columns SUMMARY_KEYS; ``skipped`` as JSON text so it fits a CSV cell."""
    rows = []
    for result in results:
        row = {key: result.summary.get(key) for key in SUMMARY_KEYS}
        row["skipped"] = json.dumps(_plain(row["skipped"] or {}), sort_keys=True)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(SUMMARY_KEYS))


def write_comparison(results: Sequence[SimulationResult], out_dir: Path, *,
                     table_file: str = COMPARISON_FILE,
                     folder_parts: Sequence[str] | None = None,
                     report: bool = True) -> list[Path]:
    """Write the table of *results* (``comparison.csv``), each run's files into its folder,
    with *report* the HTML report (``report.html``) and, if the runs span several loads,
    ``jct_vs_load.png``; return the paths written.

    A run's folder is named by *folder_parts* (see :func:`run_folder`); by default
    ``<policy>/``, or ``<policy>/load-<L>/`` when the runs span several loads.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / table_file
    _write_csv(comparison_table(results), SUMMARY_KEYS, path)
    paths = [path]
    if report:
        # Imported here: matplotlib takes most of a second to load, and only the report needs it.
        from corral.report.html_report import write_report

        paths.append(write_report(results, out_dir / REPORT_FILE))
    several_loads = len(_distinct(results, "load")) > 1
    if folder_parts is None:
        folder_parts = ("policy", "load") if several_loads else ("policy",)
    for result in results:
        paths.extend(write_run(result, out_dir / run_folder(result.summary, folder_parts)))
    if several_loads:
        paths.append(plot_load_curves(results, out_dir / LOAD_CURVES_FILE))
    return paths


def run_folder(summary: Mapping[str, Any], parts: Sequence[str]) -> Path:
    """A run's folder under ``--out``, relative: ``fifo/load-0.7`` for parts policy and load.

    *parts* are :data:`FOLDER_PARTS`; trace and policy names are used as they are (they are
    checked to make folder names), loads and seeds get a ``load-``/``seed-`` prefix.
    """
    names = []
    for part in parts:
        if part not in FOLDER_PARTS:
            raise ValueError(f"a run folder cannot be named by {part!r}")
        value = summary[part]
        if part == "load":
            names.append(f"load-{load_text(value)}")
        elif part == "seed":
            names.append(f"seed-{value}")
        else:
            names.append(str(value))
    return Path(*names)


def comparison_json(results: Sequence[SimulationResult]) -> str:
    """The summaries as a JSON list, each written as ``summary.json`` would be."""
    summaries = [json.loads(summary_json(result.summary)) for result in results]
    return json.dumps(summaries, indent=2, allow_nan=False) + "\n"


COLUMNS: tuple[tuple[str, str], ...] = (
    ("avg_jct", "JCT avg"),
    ("p50_jct", "JCT p50"),
    ("p95_jct", "JCT p95"),
    ("avg_queue_delay", "queueing avg"),
    ("avg_bounded_slowdown", "slowdown avg"),
    ("makespan", "makespan"),
    ("gpu_alloc_rate", "GPU alloc"),
    ("frag_rate", "frag"),
    ("preemptions", "preemptions"),
    ("resizes", "resizes"),
    ("migrations", "migrations"),
    ("jain_fairness", "fairness"),
    ("queue_share_met", "quota met"),
    ("sim_wall_s", "wall time"),
)
"""Summary keys shown by :func:`comparison_rich_table`, with their column headings."""


GROUP_KEYS = ("trace", "load", "seed")
"""What a row shows beside its policy when it varies among the runs; runs that agree on all
three compare policies under the same conditions, and the best of each such group is bold."""


def comparison_rich_table(results: Sequence[SimulationResult], *, transpose: bool = False,
                          title: str = "Corral policy comparison") -> Table:
    """A console table, one row per run; the lowest average JCT is bold, the one to read.

    Trace, load and seed get a column each where they vary among the runs, and then the bold
    row is the best of each group of runs that share them. *transpose* puts one run per column
    instead, for terminals too narrow for nine figures side by side.
    """
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    best = _best_indices(results)
    shown = [key for key in GROUP_KEYS if len(_distinct(results, key)) > 1]
    labels = [[_label(key, r.summary.get(key)) for key in (*shown, "policy")] for r in results]
    if transpose:
        table.add_column("metric", style="bold", no_wrap=True)
        for index, label in enumerate(labels):
            style = "bold green" if index in best else None
            table.add_column("\n".join(label), justify="right", no_wrap=True,
                             header_style=style, style=style)
        for key, heading in COLUMNS:
            table.add_row(heading, *(_cell(key, r.summary.get(key)) for r in results))
    else:
        for key in (*shown, "policy"):
            table.add_column(key, style="bold", no_wrap=True)
        for _, heading in COLUMNS:
            table.add_column(heading, justify="right", no_wrap=True)
        for index, (label, result) in enumerate(zip(labels, results, strict=True)):
            cells = [_cell(key, result.summary.get(key)) for key, _ in COLUMNS]
            table.add_row(*label, *cells, style="bold green" if index in best else None)
    if results:
        per_trace: dict[object, Mapping[str, Any]] = {}
        for result in results:
            per_trace.setdefault(result.summary.get("trace"), result.summary)
        where = "; ".join(f"{s.get('trace')} on {s.get('cluster')} ({_count(s.get('gpus'))} "
                          f"GPUs), {_count(s.get('jobs'))} jobs" for s in per_trace.values())
        each = f" of each {' and '.join(shown)}" if shown else ""
        table.caption = f"{where}; lowest average JCT{each} in bold"
        table.caption_justify = "left"
    return table


def fitting_comparison_table(results: Sequence[SimulationResult], console: Console, *,
                             title: str = "Corral policy comparison") -> Table:
    """The one-row-per-run table if it fits *console*'s width, else the transposed one."""
    wide = comparison_rich_table(results, title=title)
    unbounded = console.options.update(width=10_000)
    if Measurement.get(console, unbounded, wide).maximum <= console.width:
        return wide
    return comparison_rich_table(results, transpose=True, title=title)


def _label(key: str, value: object) -> str:
    if key == "load" and isinstance(value, int | float):
        return load_text(value)
    return str(value if value is not None else "")


def _distinct(results: Sequence[SimulationResult], key: str) -> set[object]:
    return {result.summary.get(key) for result in results}


def _cell(key: str, value: object) -> str:
    if key == "avg_bounded_slowdown":
        return _number(value, "{:,.2f}")
    if key in ("gpu_alloc_rate", "frag_rate", "queue_share_met"):
        return _number(value, "{:.1%}")
    if key == "jain_fairness":
        return _number(value, "{:.3f}")
    if key in ("preemptions", "resizes", "migrations"):
        return _count(value)
    if key == "sim_wall_s":
        return _number(value, "{:,.2f} s")
    _, seconds, larger_unit = _duration_row(key, value)
    return larger_unit or seconds  # hours or minutes where they apply: narrower columns


def _best_indices(results: Sequence[SimulationResult]) -> set[int]:
    """In each group of runs sharing trace, load and seed, the index of the lowest finite
    average JCT (the first on a tie); groups where no run has one get none."""
    best: dict[tuple[object, ...], tuple[float, int]] = {}
    for index, result in enumerate(results):
        jct = result.summary.get("avg_jct")
        if not _finite(jct):
            continue
        group = tuple(result.summary.get(key) for key in GROUP_KEYS)
        best[group] = min(best.get(group, (float(jct), index)), (float(jct), index))
    return {index for _, index in best.values()}
