"""``corral compare``: one row per policy, the files under --out, --json, and fail-fast errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import corral
from corral.cli.main import app
from corral.report.comparison import comparison_rich_table, comparison_table
from corral.sim.result import SUMMARY_KEYS

runner = CliRunner()

POLICIES = ["fifo", "backfill", "greedy"]
SMALL = ["--limit", "300", "--cluster", "4x8", "--jobs", "2"]


def run_ok(*args: str) -> str:
    result = runner.invoke(app, ["compare", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def json_summaries() -> list[dict]:
    return json.loads(run_ok("--policies", ",".join(POLICIES), "--json", *SMALL))


def test_table_lists_each_policy() -> None:
    stdout = run_ok("--policies", ",".join(POLICIES), *SMALL)
    assert "Corral policy comparison" in stdout
    for policy in POLICIES:
        assert policy in stdout
    assert "JCT avg" in stdout


def test_out_writes_comparison_csv_and_run_folders(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    stdout = run_ok("--policies", ",".join(POLICIES), "--out", str(out), *SMALL)
    assert f"wrote comparison.csv, report.html and {len(POLICIES)} run folders" in stdout
    assert (out / "report.html").is_file()
    text = (out / "comparison.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == ",".join(SUMMARY_KEYS)
    rows = list(csv.DictReader(lines))
    assert [row["policy"] for row in rows] == POLICIES
    assert all(json.loads(row["skipped"]) == {} for row in rows)
    for policy in POLICIES:
        folder = out / policy
        assert sorted(p.name for p in folder.iterdir()) == [
            "jobs.csv", "queue_timeseries.csv", "queues.csv", "summary.json", "timeseries.csv"]
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        assert summary["policy"] == policy and summary["jobs"] == 300


def test_json_is_one_summary_per_policy_in_order(json_summaries: list[dict]) -> None:
    assert [s["policy"] for s in json_summaries] == POLICIES
    assert all(tuple(s) == SUMMARY_KEYS for s in json_summaries)
    assert all(s["jobs"] == 300 and s["cluster"] == "4x8" for s in json_summaries)


def test_results_equal_direct_simulate(json_summaries: list[dict]) -> None:
    for summary in json_summaries:
        direct = corral.simulate(policy=summary["policy"], cluster="4x8", limit=300).summary
        assert summary["avg_jct"] == pytest.approx(direct["avg_jct"], rel=0, abs=0)
        assert summary["preemptions"] == direct["preemptions"]


@pytest.mark.parametrize("policies", ["fifo,no-such-policy", ",", "fifo,fifo"])
def test_bad_policy_list_fails_fast(policies: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started despite a bad policy list")

    monkeypatch.setattr("corral.report.comparison.simulate", never)
    result = runner.invoke(app, ["compare", "--policies", policies, *SMALL])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "Traceback" not in result.output


def test_bad_cluster_fails_with_one_line() -> None:
    result = runner.invoke(app, ["compare", "--policies", "fifo", "--cluster", "0x0"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error:")


def test_comparison_frame_and_best_row() -> None:
    results = [corral.simulate(policy=p, cluster="4x8", limit=100) for p in ("fifo", "greedy")]
    frame = comparison_table(results)
    assert list(frame.columns) == list(SUMMARY_KEYS) and len(frame) == 2
    table = comparison_rich_table(results)
    assert table.row_count == 2
    best = min(range(2), key=lambda i: (results[i].summary["avg_jct"], i))
    assert table.rows[best].style == "bold green"
