"""Multi-cluster replays as tables and files: one row per dispatch policy, then per cluster."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.table import Table

from corral.multicluster.replay import MultiClusterResult
from corral.report.run_files import summary_json

COMPARISON_FILE = "dispatch_comparison.csv"

_OVERALL = (("dispatch", "dispatch", "{}"), ("jobs", "jobs", "{:,}"), ("moved", "moved", "{:,}"),
            ("avg_jct", "avg JCT h", "h"), ("p95_jct", "p95 JCT h", "h"),
            ("avg_queue_delay", "avg queue h", "h"), ("p95_queue_delay", "p95 queue h", "h"),
            ("avg_bounded_slowdown", "slowdown", "{:.2f}"),
            ("gpu_alloc_rate", "GPU alloc", "{:.1%}"), ("jain_fairness", "Jain", "{:.3f}"),
            ("cost", "cost", "{:,.0f}"))
_PER_CLUSTER = (("cluster", "cluster", "{}"), ("gpus", "GPUs", "{:,}"),
                ("jobs_submitted", "submitted", "{:,}"), ("jobs_run", "ran", "{:,}"),
                ("avg_jct", "avg JCT h", "h"), ("avg_queue_delay", "avg queue h", "h"),
                ("gpu_alloc_rate", "GPU alloc", "{:.1%}"))


def _cell(value: object, form: str) -> str:
    if form == "h":
        return f"{float(value) / 3600.0:,.2f}"  # type: ignore[arg-type]
    return form.format(value)


def overall_table(results: Sequence[MultiClusterResult]) -> Table:
    """One row per replay: JCT and queueing (hours), moves, allocation, fairness, cost."""
    table = Table(title="Dispatch across clusters", title_justify="left")
    for _, header, _ in _OVERALL:
        table.add_column(header, justify="left" if header == "dispatch" else "right")
    for result in results:
        table.add_row(*(_cell(result.summary[key], form) for key, _, form in _OVERALL))
    return table


def cluster_table(results: Sequence[MultiClusterResult]) -> Table:
    """One row per cluster and replay: what each cluster's users saw, and its allocation."""
    table = Table(title="Per cluster (JCT and queueing of the jobs submitted there)",
                  title_justify="left")
    table.add_column("dispatch")
    for _, header, _ in _PER_CLUSTER:
        table.add_column(header, justify="left" if header == "cluster" else "right")
    for result in results:
        for row in result.clusters.to_dict("records"):
            table.add_row(result.summary["dispatch"],
                          *(_cell(row[key], form) for key, _, form in _PER_CLUSTER))
    return table


def write_replay(result: MultiClusterResult, folder: Path) -> list[Path]:
    """``summary.json``, ``clusters.csv`` and ``jobs.csv`` of one replay, in *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "summary.json", folder / "clusters.csv", folder / "jobs.csv"]
    paths[0].write_text(summary_json(result.summary), encoding="utf-8")
    result.clusters.to_csv(paths[1], index=False)
    result.jobs.to_csv(paths[2], index=False)
    return paths


def write_comparison(results: Sequence[MultiClusterResult], folder: Path) -> list[Path]:
    """Each replay's files in a folder named after its dispatch policy, and one row per replay
    in ``dispatch_comparison.csv``."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    table = folder / COMPARISON_FILE
    rows = [{k: v for k, v in r.summary.items() if k != "skipped"} for r in results]
    pd.DataFrame.from_records(rows).to_csv(table, index=False)
    paths = [table]
    for result in results:
        paths += write_replay(result, folder / result.summary["dispatch"])
    return paths
