"""Several policies replayed on one trace and cluster, side by side.

Each policy is an independent simulation, so they run in parallel worker processes. The trace
is read once in the parent and sent to the workers; the cluster is resolved once in the parent
(so a bad spec fails before any run) but sent as its spec, because its nodes hold read-only
mappings that do not pickle. Rebuilding it from the same spec and trace gives the same nodes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from corral.api import simulate
from corral.clusters import Cluster, build_cluster
from corral.model import ConfigError
from corral.policies import load_policy
from corral.queues import build_queues
from corral.report.run_files import _plain, _write_csv, summary_json, write_run
from corral.report.summary_table import _count, _duration_row, _finite, _number
from corral.sim.result import SUMMARY_KEYS, SimulationResult
from corral.traces import Trace, read_trace

COMPARISON_FILE = "comparison.csv"


def policy_names(policies: Sequence[str | Path]) -> list[str]:
    """Load every policy up front and return their names, so a typo fails before any run.

    Names must differ: each one names a row and an output folder.
    """
    names: list[str] = []
    for policy in policies:
        name = load_policy(policy).name
        if name in names:
            raise ConfigError(f"policy {name!r} is given twice")
        if not name or name in {".", ".."} or any(sep in name for sep in "/\\"):
            raise ConfigError(f"policy name {name!r} cannot name an output folder")
        names.append(name)
    if not names:
        raise ConfigError("no policies to compare")
    return names


def compare(
    trace: str | Path | Trace | None,
    policies: Sequence[str | Path],
    cluster: str | Path | None = None,
    *,
    seed: int = 0,
    limit: int | None = None,
    workers: int | None = None,
    on_done: Callable[[int, int], None] | None = None,
    load: float = 1.0,
    queues: str | Path | None = None,
) -> list[SimulationResult]:
    """Replay *trace* on *cluster* under each policy; results come in the order of *policies*.

    Arguments mean what they mean for :func:`corral.api.simulate`. *workers* defaults to one
    process per policy, at most one per CPU; with one worker the runs stay in this process.
    *on_done(finished, total)* is called as runs finish.
    """
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    policy_names(policies)
    loaded = trace if isinstance(trace, Trace) else read_trace(trace, limit=limit)
    if isinstance(cluster, Cluster):
        raise TypeError("compare takes a cluster spec, not a Cluster (it does not pickle)")
    built = build_cluster(cluster, loaded)
    build_queues(queues, loaded.jobs, built.gpus)  # a bad queue file fails before any run
    spec = None if cluster is None else str(cluster)
    queue_spec = None if queues is None else str(queues)
    count = workers or min(len(policies), os.cpu_count() or 1)
    jobs = [(loaded, str(policy), spec, seed, load, queue_spec) for policy in policies]
    results: list[SimulationResult | None] = [None] * len(jobs)
    if count == 1:
        for index, job in enumerate(jobs):
            results[index] = _run_one(*job)
            if on_done is not None:
                on_done(index + 1, len(jobs))
    else:
        with ProcessPoolExecutor(max_workers=count) as pool:
            futures = {pool.submit(_run_one, *job): index for index, job in enumerate(jobs)}
            for finished, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if on_done is not None:
                    on_done(finished, len(jobs))
    return [result for result in results if result is not None]


def _run_one(trace: Trace, policy: str, cluster: str | None, seed: int,
             load: float, queues: str | None) -> SimulationResult:
    """One worker's run; module-level so that worker processes can unpickle it."""
    return simulate(trace, policy=policy, cluster=cluster, seed=seed, load=load, queues=queues)


def comparison_table(results: Sequence[SimulationResult]) -> pd.DataFrame:
    """One row per run, columns SUMMARY_KEYS; ``skipped`` as JSON text so it fits a CSV cell."""
    rows = []
    for result in results:
        row = {key: result.summary.get(key) for key in SUMMARY_KEYS}
        row["skipped"] = json.dumps(_plain(row["skipped"] or {}), sort_keys=True)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(SUMMARY_KEYS))


def write_comparison(results: Sequence[SimulationResult], out_dir: Path) -> list[Path]:
    """Write ``comparison.csv`` and ``report.html`` into *out_dir*, and each run's files into
    ``out_dir/<policy>/``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / COMPARISON_FILE
    _write_csv(comparison_table(results), SUMMARY_KEYS, path)
    # Imported here: matplotlib takes most of a second to load, and only this file needs it.
    from corral.report.html_report import REPORT_FILE, write_report

    paths = [path, write_report(results, out_dir / REPORT_FILE)]
    for result in results:
        paths.extend(write_run(result, out_dir / str(result.summary["policy"])))
    return paths


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
    ("preemptions", "preemptions"),
    ("jain_fairness", "fairness"),
    ("queue_share_met", "quota met"),
    ("sim_wall_s", "wall time"),
)
"""Summary keys shown by :func:`comparison_rich_table`, with their column headings."""


def comparison_rich_table(results: Sequence[SimulationResult], *, transpose: bool = False) -> Table:
    """A console table, one row per policy; the lowest average JCT is bold, the one to read.

    *transpose* puts one policy per column instead, for terminals too narrow for nine figures
    side by side.
    """
    table = Table(title="Corral policy comparison", title_justify="left", box=box.SIMPLE_HEAD,
                  padding=(0, 1))
    best = _best_index(results)
    names = [str(result.summary.get("policy", "")) for result in results]
    if transpose:
        table.add_column("metric", style="bold", no_wrap=True)
        for index, name in enumerate(names):
            table.add_column(name, justify="right", no_wrap=True,
                             header_style="bold green" if index == best else None,
                             style="bold green" if index == best else None)
        for key, heading in COLUMNS:
            table.add_row(heading, *(_cell(key, r.summary.get(key)) for r in results))
    else:
        table.add_column("policy", style="bold", no_wrap=True)
        for _, heading in COLUMNS:
            table.add_column(heading, justify="right", no_wrap=True)
        for index, (name, result) in enumerate(zip(names, results, strict=True)):
            cells = [_cell(key, result.summary.get(key)) for key, _ in COLUMNS]
            table.add_row(name, *cells, style="bold green" if index == best else None)
    if results:
        first = results[0].summary
        table.caption = (f"{first.get('trace')} on {first.get('cluster')} "
                         f"({_count(first.get('gpus'))} GPUs), {_count(first.get('jobs'))} jobs; "
                         "lowest average JCT in bold")
        table.caption_justify = "left"
    return table


def fitting_comparison_table(results: Sequence[SimulationResult], console: Console) -> Table:
    """The one-row-per-policy table if it fits *console*'s width, else the transposed one."""
    wide = comparison_rich_table(results)
    unbounded = console.options.update(width=10_000)
    if Measurement.get(console, unbounded, wide).maximum <= console.width:
        return wide
    return comparison_rich_table(results, transpose=True)


def _cell(key: str, value: object) -> str:
    if key == "avg_bounded_slowdown":
        return _number(value, "{:,.2f}")
    if key in ("gpu_alloc_rate", "queue_share_met"):
        return _number(value, "{:.1%}")
    if key == "jain_fairness":
        return _number(value, "{:.3f}")
    if key == "preemptions":
        return _count(value)
    if key == "sim_wall_s":
        return _number(value, "{:,.2f} s")
    _, seconds, larger_unit = _duration_row(key, value)
    return larger_unit or seconds  # hours or minutes where they apply: narrower columns


def _best_index(results: Sequence[SimulationResult]) -> int | None:
    """Index of the lowest finite average JCT (the first on a tie), or None if none has one."""
    scored = [(float(r.summary["avg_jct"]), i) for i, r in enumerate(results)
              if _finite(r.summary.get("avg_jct"))]
    return min(scored)[1] if scored else None
