"""The run summary as a console table: the figures one reads first, in units people read."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.table import Table

from corral.sim.result import SimulationResult

MISSING = "–"


def summary_table(result: SimulationResult) -> Table:
    """A two-column table of the summary; durations in seconds with minutes or hours beside."""
    s = result.summary
    table = Table(title="Corral simulation", title_justify="left", show_header=False,
                  box=None, padding=(0, 2, 0, 0))
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_column("", style="dim")
    rows: list[tuple[str, str, str]] = [
        ("trace", str(s.get("trace", MISSING)), ""),
        ("policy", str(s.get("policy", MISSING)), ""),
        ("cluster", str(s.get("cluster", MISSING)), _gpus(s.get("gpus"))),
        ("jobs", _count(s.get("jobs")), ""),
        ("skipped rows", _count(skipped_total(s.get("skipped"))), ""),
        *(_duration_row(f"JCT {stat}", s.get(f"{stat}_jct")) for stat in
          ("avg", "p50", "p95", "p99")),
        _duration_row("queueing delay avg", s.get("avg_queue_delay")),
        _duration_row("queueing delay p95", s.get("p95_queue_delay")),
        ("bounded slowdown avg", _number(s.get("avg_bounded_slowdown"), "{:,.2f}"), ""),
        _duration_row("makespan", s.get("makespan")),
        ("GPU allocation", _number(s.get("gpu_alloc_rate"), "{:.1%}"), "of GPU-time"),
        ("GPU fragmentation", _number(s.get("frag_rate"), "{:.1%}"),
         "of unallocated GPUs" if _finite(s.get("frag_rate")) else ""),
        ("preemptions", _count(s.get("preemptions")), ""),
        ("resizes / migrations", f"{_count(s.get('resizes'))} / {_count(s.get('migrations'))}",
         _number(s.get("resize_overhead_s"), "{:,.0f} s of overhead", empty="")),
        ("fairness (Jain)", _number(s.get("jain_fairness"), "{:.3f}"),
         f"over {fairness_groups(result)}' slowdowns"),
        ("queue share met", _number(s.get("queue_share_met"), "{:.1%}"),
         "of guaranteed GPU-hours owed" if s.get("queue_share_met") is not None
         else "no queue with a quota had demand"),
        ("wall time", _number(s.get("sim_wall_s"), "{:,.2f} s"),
         _number(s.get("jobs_per_s"), "{:,.0f} jobs/s", empty="")),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def fairness_groups(result: SimulationResult) -> str:
    """Whom the fairness index compares: users, or queues where the trace names no users
    (as :func:`corral.sim.metrics.jain_fairness` does)."""
    jobs = result.jobs
    named = "user" in jobs and bool((jobs["user"] != "").any())
    return "users" if named else "queues"


def skipped_total(skipped: Any) -> int | None:
    """Rows skipped in all, whether the summary holds a count or counts per reason."""
    if isinstance(skipped, Mapping):
        return sum(int(count) for count in skipped.values())
    return None if skipped is None else int(skipped)


def _duration_row(label: str, seconds: Any) -> tuple[str, str, str]:
    if not _finite(seconds):
        return label, MISSING, ""
    seconds = float(seconds)
    value = f"{seconds:,.1f} s" if abs(seconds) < 10 else f"{seconds:,.0f} s"
    if abs(seconds) >= 3600:
        return label, value, f"{seconds / 3600:,.2f} h"
    if abs(seconds) >= 60:
        return label, value, f"{seconds / 60:,.1f} min"
    return label, value, ""


def _gpus(gpus: Any) -> str:
    return f"{int(gpus):,} GPUs" if _finite(gpus) else ""


def _count(value: Any) -> str:
    return f"{int(value):,}" if _finite(value) else MISSING


def _number(value: Any, pattern: str, empty: str = MISSING) -> str:
    return pattern.format(float(value)) if _finite(value) else empty


def _finite(value: Any) -> bool:
    """True for a real number that is not NaN or infinite (bool is not a number here)."""
    if isinstance(value, bool) or value is None:
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
