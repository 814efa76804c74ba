"""``report.html``: one self-contained page with the table and every chart section, for one
policy or several, at one load or several, with or without queue quotas."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corral
from corral.cli.main import app
from corral.report.html_report import format_value, report_html, write_report
from corral.sim.result import QUEUE_COLUMNS, SUMMARY_KEYS, SimulationResult

SECTIONS = ("summary", "distributions", "cluster", "queues")
VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr"}


class _TagChecker(HTMLParser):
    """Fails on an end tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def assert_well_formed(page: str) -> None:
    """Balanced tags, unique ids, one document, and nothing fetched from anywhere."""
    assert page.startswith("<!DOCTYPE html>")
    checker = _TagChecker()
    checker.feed(page)
    checker.close()
    assert checker.open == []
    ids = Counter(re.findall(r'\sid="([^"]+)"', page))
    assert [name for name, count in ids.items() if count > 1] == []
    referenced = set(re.findall(r'(?:href="#|url\(#)([^")]+)', page))
    assert referenced <= set(ids)
    assert_offline(page)


def assert_offline(page: str) -> None:
    """No URL but XML namespace names, which browsers never fetch; no linked files."""
    without_namespaces = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", page)
    for needle in ("http://", "https://", 'src="//', "<link", "<script", "@import", "<img"):
        assert needle not in without_namespaces.lower(), needle


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("cmp")
    result = CliRunner().invoke(app, ["compare", "--policies", "fifo,backfill", "--limit", "300",
                                      "--cluster", "4x8", "--jobs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.stdout


def test_compare_out_writes_the_report(compared: tuple[Path, str]) -> None:
    out, stdout = compared
    assert "report.html" in stdout
    page = (out / "report.html").read_text(encoding="utf-8")
    assert_well_formed(page)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert "load-sweep" not in page
    assert page.count("<svg") == 3
    assert "<table" in page and "JCT average" in page
    for policy in ("fifo", "backfill"):
        assert f"{policy}</th>" in page
    shown = [key for key in SUMMARY_KEYS
             if key not in ("trace", "policy", "cluster", "gpus", "seed", "corral_version")]
    for key in shown:
        assert f"<code>{key}</code>" in page


def test_report_says_when_no_queue_has_a_quota(compared: tuple[Path, str]) -> None:
    page = (compared[0] / "report.html").read_text(encoding="utf-8")
    assert "No queue has a quota" in page


def test_single_policy() -> None:
    page = report_html([corral.simulate(limit=100, cluster="2x8", policy="backfill")])
    assert_well_formed(page)
    assert page.count('<span class="swatch"') == 1
    assert "backfill" in page


def test_several_loads_add_charts_against_the_load() -> None:
    results = [corral.simulate(limit=200, cluster="2x8", policy=policy, load=load)
               for load in (0.5, 1.0) for policy in ("fifo", "greedy")]
    page = report_html(results)
    assert_well_formed(page)
    assert '<section id="load-sweep">' in page
    assert page.count("<svg") == 4
    assert "Drawn at load 1, the highest of the sweep" in page
    assert '<th scope="colgroup" class="group-start" colspan="2">load 0.5</th>' in page
    assert "<dt>loads</dt><dd>0.5, 1</dd>" in page


def test_queue_quota_and_share_drawn(tmp_path: Path) -> None:
    base = corral.simulate(limit=120, cluster="2x8")
    series = base.queue_series
    names = sorted(series["queue"].unique())
    queues = base.queues.copy()
    queues["quota_gpus"] = [4.0 if name == names[0] else np.nan for name in queues["queue"]]
    queues["share_met"] = [0.75 if name == names[0] else np.nan for name in queues["queue"]]
    result = SimulationResult(base.summary, base.jobs, base.timeseries, series,
                              queues.loc[:, list(QUEUE_COLUMNS)])
    path = write_report([result], tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    assert_well_formed(page)
    assert "No queue has a quota" not in page
    assert "share met 75%" in page
    assert ">quota</text>" in page


def test_many_queues_are_cut_to_the_busiest() -> None:
    times = np.arange(12.0)
    names = [f"q{i:02d}" for i in range(12)]
    series = pd.DataFrame({"time": times, "queue": names, "allocated_gpus": 1.0,
                           "demand_gpus": 1.0})
    queues = pd.DataFrame({column: np.nan for column in QUEUE_COLUMNS}, index=range(12))
    queues["queue"] = names
    queues["gpu_hours"] = np.arange(12.0)
    base = corral.simulate(limit=50, cluster="2x8")
    page = report_html([SimulationResult(base.summary, base.jobs, base.timeseries, series,
                                         queues)])
    assert "The 8 queues with the most GPU-hours are drawn, of 12 in all." in page
    assert "q11" in page and "q04" in page and "q03" not in page


def test_report_size_stays_bounded_on_long_series() -> None:
    """Five policies of a full-trace size: series are binned, so the page stays small."""
    rng = np.random.default_rng(0)
    rows, jobs = 200_000, 80_000
    base = corral.simulate(limit=20, cluster="2x8")
    results = []
    for policy in ("a", "b", "c", "d", "e"):
        times = np.sort(rng.uniform(0, 1e7, rows))
        timeseries = pd.DataFrame({"time": times, "allocated_gpus": rng.integers(0, 2490, rows),
                                   "pending_jobs": rng.integers(0, 500, rows),
                                   "running_jobs": rng.integers(0, 500, rows)})
        names = rng.choice([f"vc{i}" for i in range(14)], rows)
        series = pd.DataFrame({"time": times, "queue": names,
                               "allocated_gpus": rng.integers(0, 300, rows),
                               "demand_gpus": rng.integers(0, 400, rows)})
        queues = pd.DataFrame({column: np.nan for column in QUEUE_COLUMNS}, index=range(14))
        queues["queue"] = [f"vc{i}" for i in range(14)]
        queues["gpu_hours"] = rng.uniform(0, 1e5, 14)
        job_table = pd.DataFrame({"jct": rng.lognormal(8, 2, jobs),
                                  "queue_delay": rng.lognormal(5, 3, jobs)})
        summary = {**base.summary, "policy": policy}
        results.append(SimulationResult(summary, job_table, timeseries, series, queues))
    page = report_html(results)
    assert_well_formed(page)
    assert len(page.encode("utf-8")) < 5_000_000


@pytest.mark.parametrize(("key", "value", "text"), [
    ("avg_jct", 27_374.4, "7.60 h"),
    ("makespan", 5_940_000.0, "1,650 h"),
    ("p50_jct", 474.0, "7.9 min"),
    ("avg_queue_delay", 0.0, "0.0 s"),
    ("gpu_alloc_rate", 0.8123, "81.2%"),
    ("frag_rate", 0.051, "5.1%"),
    ("queue_share_met", 0.9, "90.0%"),
    ("queue_share_met", None, "–"),
    ("jobs", 10_000, "10,000"),
    ("load", 0.5, "0.5"),
    ("skipped", {}, "none"),
    ("skipped", {"no_gpu": 3}, "no_gpu 3"),
    ("avg_bounded_slowdown", 1_317.2, "1,317"),
    ("jain_fairness", 0.361, "0.36"),
    ("p95_jct", float("nan"), "–"),
])
def test_format_value(key: str, value: object, text: str) -> None:
    assert format_value(key, value)[0] == text
