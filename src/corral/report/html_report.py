"""A comparison of runs as one self-contained HTML page: ``report.html``.

Everything is inline (CSS, and the charts as SVG), so the file can be mailed, archived or
opened offline and shows the same thing years later; it makes no network request. The page
holds the summary table, CDFs of JCT and queueing delay, the cluster's allocation and pending
jobs over time, and each queue's allocation against its quota and demand. Runs at several
loads add charts against the load, and the time-based charts are drawn at the highest load.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corral import __version__
from corral.report.charts import (
    Curve,
    Panel,
    QueueCell,
    distribution_chart,
    policy_colours,
    queue_grid_chart,
    sweep_chart,
    time_chart,
)
from corral.report.series import binned_step_mean, cdf_points
from corral.report.summary_table import MISSING, _count, _finite
from corral.sim.result import SUMMARY_KEYS, SimulationResult

TOP_QUEUES = 8
"""Queues drawn in the per-queue charts, those with the most GPU-hours."""
TIME_BINS = 600
QUEUE_BINS = 200
"""Time bins of the cluster charts and of each per-queue chart (see :mod:`.series`)."""

HEADER_KEYS = ("trace", "cluster", "gpus", "seed", "corral_version")
"""Summary keys shown once in the page header rather than per run in the table."""

LABELS = {
    "load": "load",
    "jobs": "jobs",
    "skipped": "skipped rows",
    "avg_jct": "JCT average",
    "p50_jct": "JCT median",
    "p95_jct": "JCT p95",
    "p99_jct": "JCT p99",
    "avg_queue_delay": "queueing delay average",
    "p95_queue_delay": "queueing delay p95",
    "avg_bounded_slowdown": "bounded slowdown average",
    "makespan": "makespan",
    "gpu_alloc_rate": "GPU allocation",
    "frag_rate": "fragmentation",
    "preemptions": "preemptions",
    "jain_fairness": "Jain fairness",
    "queue_share_met": "guarantees met",
    "sim_wall_s": "simulation wall time",
    "jobs_per_s": "simulation speed (jobs/s)",
}
"""Row headings of the summary table; a key not listed is shown with spaces for underscores."""

COUNT_KEYS = frozenset({"gpus", "jobs", "preemptions", "seed", "jobs_per_s"})
PERCENT_KEYS = frozenset({"queue_share_met"})
"""Keys shown as counts or percentages besides those the suffix ``_rate`` marks."""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0 auto; max-width: 1240px; padding: 1.5rem 2rem 3rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid #ddd;
     padding-bottom: .25rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem;
           margin: .8rem 0; }
dl.facts dt { color: #666; }
dl.facts dd { margin: 0; }
nav a { margin-right: 1rem; color: #1f5fa8; }
p.note { color: #555; font-size: .92rem; margin: .3rem 0 .8rem; }
table.summary { border-collapse: collapse; font-variant-numeric: tabular-nums;
                font-size: .92rem; }
table.summary th, table.summary td { padding: .3rem .55rem; border-bottom: 1px solid #eee; }
table.summary .group-start { border-left: 1px solid #ddd; }
div.wide { overflow-x: auto; }
table.summary thead th { text-align: right; border-bottom: 2px solid #ccc;
                         vertical-align: bottom; white-space: nowrap; }
table.summary thead th[scope="colgroup"] { text-align: center; border-bottom: 1px solid #ccc; }
table.summary th.metric { text-align: left; }
table.summary tbody th { text-align: left; font-weight: normal; white-space: nowrap; }
table.summary td { text-align: right; white-space: nowrap; }
table.summary code { display: block; color: #999; font-size: .72rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px;
          margin-right: .35rem; vertical-align: -.05rem; }
figure { margin: .5rem 0 1.5rem; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: .88rem; margin-top: .3rem; }
footer { margin-top: 3rem; color: #888; font-size: .85rem; }
"""


def write_report(results: Sequence[SimulationResult], path: Path) -> Path:
    """Write :func:`report_html` of *results* to *path*; return the path."""
    path = Path(path)
    path.write_text(report_html(results), encoding="utf-8", newline="\n")
    return path


def report_html(results: Sequence[SimulationResult]) -> str:
    """The report page for *results*: one run per policy, or per policy and load."""
    if not results:
        raise ValueError("a report needs at least one run")
    colours = policy_colours([_policy(result) for result in results])
    loads = sorted({load for result in results if (load := _load(result)) is not None})
    swept = len(loads) > 1
    shown = [result for result in results if _load(result) == loads[-1]] if swept else results
    at_load = (f"Drawn at load {_plain_number(loads[-1])}, the highest of the sweep; the table "
               "and the charts against the load cover every load." if swept else "")
    sections = [_summary_section(results, colours, swept)]
    if swept:
        sections.append(_sweep_section(results, colours))
    sections += [_distribution_section(shown, colours, at_load),
                 _cluster_section(shown, colours, at_load),
                 _queue_section(shown, colours, at_load)]
    nav = " ".join(f'<a href="#{anchor}">{html.escape(title)}</a>'
                   for anchor, title, _ in sections)
    body = "\n".join(f'<section id="{anchor}">\n<h2>{html.escape(title)}</h2>\n{content}\n'
                     "</section>" for anchor, title, content in sections)
    first = results[0].summary
    title = f"Corral comparison: {first.get('trace')} on {first.get('cluster')}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header>\n<h1>Corral policy comparison</h1>\n{_facts(results, loads)}\n</header>\n"
        f"<nav>{nav}</nav>\n{body}\n"
        f"<footer>Written by corral {html.escape(__version__)}.</footer>\n</body>\n</html>\n"
    )


def _facts(results: Sequence[SimulationResult], loads: list[float]) -> str:
    """The header's list: what was replayed, on what, at which load(s), by which version."""
    def distinct(key: str) -> list[str]:
        return list(dict.fromkeys(str(r.summary.get(key)) for r in results))

    jobs = sorted({int(r.summary["jobs"]) for r in results if _finite(r.summary.get("jobs"))})
    gpus = list(dict.fromkeys(_count(r.summary.get("gpus")) for r in results))
    rows = [
        ("trace", ", ".join(distinct("trace"))),
        ("cluster", f"{', '.join(distinct('cluster'))} ({', '.join(gpus)} GPUs)"),
        ("load" if len(loads) < 2 else "loads",
         ", ".join(_plain_number(load) for load in loads) or MISSING),
        ("jobs", " to ".join(_count(n) for n in dict.fromkeys((jobs[0], jobs[-1])))
         if jobs else MISSING),
        ("policies", ", ".join(dict.fromkeys(_policy(r) for r in results))),
        ("seed", ", ".join(distinct("seed"))),
        ("corral version", ", ".join(distinct("corral_version"))),
    ]
    items = "\n".join(f"<dt>{name}</dt><dd>{html.escape(value)}</dd>" for name, value in rows)
    return f'<dl class="facts">\n{items}\n</dl>'


def _summary_section(results: Sequence[SimulationResult], colours: Mapping[str, str],
                     swept: bool) -> tuple[str, str, str]:
    """A column per run and a row per summary key (the keys of ``comparison.csv``); a sweep's
    runs are grouped under a heading per load."""
    if swept:
        results = sorted(results, key=lambda r: _load(r) or 0.0)
    # A rule before each load's first column keeps a sweep's groups apart.
    starts = [' class="group-start"' if swept and (i == 0 or _load(r) != _load(results[i - 1]))
              else "" for i, r in enumerate(results)]
    heads = "".join(f'<th scope="col"{start}><span class="swatch" style="background:'
                    f'{colours[_policy(r)]}"></span>{html.escape(_policy(r))}</th>'
                    for r, start in zip(results, starts, strict=True))
    if swept:
        groups = "".join(
            f'<th scope="colgroup" class="group-start" '
            f'colspan="{sum(_load(r) == load for r in results)}">'
            f"load {_plain_number(load)}</th>"
            for load in dict.fromkeys(_load(r) for r in results))
        thead = (f'<tr><th scope="col" rowspan="2" class="metric">metric</th>{groups}</tr>\n'
                 f"<tr>{heads}</tr>")
    else:
        thead = f'<tr><th scope="col" class="metric">metric</th>{heads}</tr>'
    rows = []
    for key in SUMMARY_KEYS:
        if key in HEADER_KEYS or key == "policy":
            continue
        cells = []
        for result, start in zip(results, starts, strict=True):
            text, exact = format_value(key, result.summary.get(key))
            hint = f' title="{html.escape(exact)}"' if exact else ""
            cells.append(f"<td{start}{hint}>{html.escape(text)}</td>")
        label = LABELS.get(key, key.replace("_", " "))
        rows.append(f'<tr><th scope="row">{html.escape(label)}<code>{key}</code></th>'
                    f"{''.join(cells)}</tr>")
    table = (f'<div class="wide"><table class="summary">\n<thead>\n{thead}\n</thead>\n'
             "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table></div>")
    note = ('<p class="note">Durations in seconds, minutes or hours (hover for seconds); '
            "rates in percent of GPU-time or of the quota.</p>")
    return "summary", "Summary", note + "\n" + table


def format_value(key: str, value: Any) -> tuple[str, str]:
    """A summary value as table text, and the exact figure for a tooltip where it is rounded."""
    if key == "skipped":
        if isinstance(value, Mapping):
            return (", ".join(f"{reason} {count:,}" for reason, count in value.items())
                    or "none"), ""
        return (MISSING if value is None else str(value)), ""
    if not _finite(value):
        return (MISSING if value is None or isinstance(value, float) else str(value)), ""
    number = float(value)
    if key.endswith(("_jct", "_delay")) or key == "makespan":
        return _duration(number), f"{number:,.1f} s"
    if key.endswith("_rate") or key in PERCENT_KEYS:
        return f"{number:.1%}", ""
    if key == "load":
        return _plain_number(number), ""
    if key in COUNT_KEYS:
        return _count(number), ""
    if key == "sim_wall_s":
        return f"{number:,.2f} s", ""
    return (f"{number:,.2f}" if abs(number) < 1000 else f"{number:,.0f}"), ""


def _duration(seconds: float) -> str:
    """Three or four significant figures, in the largest unit that keeps the number >= 1."""
    hours = seconds / 3600
    if abs(hours) >= 100:
        return f"{hours:,.0f} h"
    if abs(hours) >= 10:
        return f"{hours:,.1f} h"
    if abs(hours) >= 1:
        return f"{hours:,.2f} h"
    if abs(seconds) >= 60:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds:,.1f} s"


def _sweep_section(results: Sequence[SimulationResult],
                   colours: Mapping[str, str]) -> tuple[str, str, str]:
    """Average JCT and queueing delay against the load, a line per policy."""
    panels = []
    for key, title, axis in (("avg_jct", "Average JCT", "JCT"),
                             ("avg_queue_delay", "Average queueing delay", "queueing delay")):
        curves = []
        for policy, colour in colours.items():
            points = sorted((_load(r), float(r.summary[key])) for r in results
                            if _policy(r) == policy and _load(r) is not None
                            and _finite(r.summary.get(key)))
            if points:
                x, y = zip(*points, strict=True)
                curves.append(Curve(policy, colour, np.array(x), np.array(y)))
        panels.append(Panel(title, "load (arrival rate relative to the trace)",
                            f"{axis} (log scale)", curves))
    svg = sweep_chart(panels, "sweep")
    caption = ("A marker per run; values under 1 s are drawn at 1 s. The load scales the arrival "
               "rate on the same cluster.")
    return "load-sweep", "Against the load", _figure(svg, caption)


def _distribution_section(results: Sequence[SimulationResult], colours: Mapping[str, str],
                          at_load: str) -> tuple[str, str, str]:
    """CDFs of job completion time and queueing delay."""
    panels = []
    for column, title in (("jct", "Job completion time"), ("queue_delay", "Queueing delay")):
        curves = []
        for result in results:
            x, y = cdf_points(result.jobs[column].to_numpy(dtype=float)
                              if column in result.jobs else np.array([]))
            curves.append(Curve(_policy(result), colours[_policy(result)], x, y))
        panels.append(Panel(f"{title} CDF", f"{title.lower()} (log scale)",
                            "fraction of jobs", curves))
    caption = ("The fraction of finished jobs at or below each duration; values under 1 s are "
               "drawn at 1 s.")
    return ("distributions", "JCT and queueing delay", _note(at_load)
            + _figure(distribution_chart(panels, "cdf"), caption))


def _cluster_section(results: Sequence[SimulationResult], colours: Mapping[str, str],
                     at_load: str) -> tuple[str, str, str]:
    """Allocated GPUs and pending jobs over time, averaged over equal time bins."""
    edges = _time_edges(results, TIME_BINS)
    hours = _centres(edges) / 3600
    allocated, pending = [], []
    for result in results:
        series = result.timeseries
        policy = _policy(result)
        for column, curves in (("allocated_gpus", allocated), ("pending_jobs", pending)):
            if column in series and len(series):
                means = binned_step_mean(series["time"].to_numpy(dtype=float),
                                         series[column].to_numpy(dtype=float), edges)
                curves.append(Curve(policy, colours[policy], hours, means))
            else:
                curves.append(Curve(policy, colours[policy], np.array([]), np.array([])))
    gpus = results[0].summary.get("gpus")
    reference = (float(gpus), f"cluster: {_count(gpus)} GPUs") if _finite(gpus) else None
    svg = time_chart([
        Panel("GPU allocation", "time (h)", "allocated GPUs", allocated, reference),
        Panel("Pending queue length", "time (h)", "pending jobs", pending),
    ], "cluster")
    caption = (f"Each point is the time-average over one of {TIME_BINS} equal bins of "
               f"{_bin_width(edges)}.")
    return "cluster", "Cluster over time", _note(at_load) + _figure(svg, caption)


def _queue_section(results: Sequence[SimulationResult], colours: Mapping[str, str],
                   at_load: str) -> tuple[str, str, str]:
    """Small multiples of each busy queue's allocation against its quota and its demand."""
    title = "Queues: allocation against quota"
    tables = [result.queues for result in results if len(result.queues)]
    if not tables:
        return "queues", title, _note(at_load) + _note("These runs have no per-queue figures.")
    table = pd.concat(tables)
    hours = table.groupby(table["queue"].astype(str))["gpu_hours"].sum()
    ranked = sorted(hours.index, key=lambda name: (-float(hours[name]), name))
    queues = ranked[:TOP_QUEUES]
    edges = _time_edges(results, QUEUE_BINS)
    centres = _centres(edges) / 3600
    cells: dict[tuple[str, str], QueueCell] = {}
    any_quota = False
    for result in results:
        series = result.queue_series
        names = series["queue"].astype(str)  # read back from a CSV, "103959" is a number
        quotas = result.queues.set_index(result.queues["queue"].astype(str))
        for queue in queues:
            steps = series[names == queue]
            times = steps["time"].to_numpy(dtype=float)
            quota = share = None
            if queue in quotas.index:
                quota = _finite_or_none(quotas.at[queue, "quota_gpus"])
                share = _finite_or_none(quotas.at[queue, "share_met"])
            any_quota |= quota is not None
            cells[(queue, _policy(result))] = QueueCell(
                centres,
                binned_step_mean(times, steps["allocated_gpus"].to_numpy(dtype=float), edges),
                binned_step_mean(times, steps["demand_gpus"].to_numpy(dtype=float), edges),
                quota, "" if share is None else f"share met {share:.0%}")
    columns = [(_policy(r), colours[_policy(r)]) for r in results]
    notes = [at_load]
    if len(ranked) > len(queues):
        notes.append(f"The {len(queues)} queues with the most GPU-hours are drawn, of "
                     f"{len(ranked)} in all.")
    if not any_quota:
        notes.append("No queue has a quota in these runs (set quotas with --queues), so there is "
                     "no quota line; allocation and demand are still shown.")
    caption = ("A row per queue (same GPU scale across a row), a column per policy. "
               f"Time-averages over {QUEUE_BINS} bins of {_bin_width(edges)}.")
    if any_quota:
        caption += (" \"share met\" is the time-average, while the queue had demand, of "
                    "allocated / min(quota, demand), capped at 1.")
    svg = queue_grid_chart(queues, columns, cells, "queues")
    return "queues", title, "".join(_note(text) for text in notes) + _figure(svg, caption)


def _time_edges(results: Sequence[SimulationResult], bins: int) -> np.ndarray:
    """Equal bins from 0 to the last instant any run's series records."""
    ends = [float(frame["time"].max()) for r in results
            for frame in (r.timeseries, r.queue_series) if "time" in frame and len(frame)]
    end = max(ends, default=0.0)
    return np.linspace(0.0, end if end > 0 else 1.0, bins + 1)


def _centres(edges: np.ndarray) -> np.ndarray:
    return (edges[:-1] + edges[1:]) / 2


def _bin_width(edges: np.ndarray) -> str:
    width = float(edges[1] - edges[0])
    return f"{width / 3600:,.2f} h" if width >= 360 else f"{width:,.0f} s"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>\n{svg}\n<figcaption>{html.escape(caption)}</figcaption>\n</figure>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>\n' if text else ""


def _policy(result: SimulationResult) -> str:
    return str(result.summary.get("policy", ""))


def _load(result: SimulationResult) -> float | None:
    load = result.summary.get("load")
    return float(load) if _finite(load) else None


def _finite_or_none(value: Any) -> float | None:
    return float(value) if _finite(value) else None


def _plain_number(value: float | None) -> str:
    """A load as people write it: 0.5, 1, 1.25."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:g}"
