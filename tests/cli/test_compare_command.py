"""``corral compare``: one row per policy, the files under --out, --json, and fail-fast errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib.image
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

    monkeypatch.setattr("corral.sweep.grid.simulate", never)
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


def test_loads_give_a_row_per_policy_and_load_and_the_plot(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    stdout = run_ok("--policies", "fifo,greedy", "--loads", "0.5,2", "--out", str(out), *SMALL)
    assert "wrote comparison.csv, report.html, jct_vs_load.png and 4 run folders" in stdout
    rows = list(csv.DictReader((out / "comparison.csv").read_text(encoding="utf-8")
                               .splitlines()))
    assert [(row["load"], row["policy"]) for row in rows] == [
        ("0.5", "fifo"), ("0.5", "greedy"), ("2.0", "fifo"), ("2.0", "greedy")]
    for row in rows:
        folder = out / row["policy"] / f"load-{row['load'].removesuffix('.0')}"
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        assert summary["load"] == float(row["load"]) and summary["policy"] == row["policy"]
    plot = out / "jct_vs_load.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(plot).shape
    assert height > 200 and width > 400


def test_loads_table_has_a_load_column() -> None:
    stdout = runner.invoke(app, ["compare", "--policies", "fifo,greedy", "--loads", "1,2",
                                 *SMALL], env={"COLUMNS": "200"}).stdout
    header = next(line for line in stdout.splitlines() if "JCT avg" in line)
    assert header.split()[:3] == ["load", "policy", "JCT"]
    assert "lowest average JCT of each load in bold" in stdout


def test_a_single_load_keeps_the_plain_folders(tmp_path: Path) -> None:
    run_ok("--policies", "fifo", "--loads", "2", "--out", str(tmp_path), *SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comparison.csv", "fifo", "report.html"]
    assert (tmp_path / "fifo" / "summary.json").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--load", "2", "--loads", "1,2"], "--load and --loads exclude each other"),
    (["--load", "1", "--loads", "1,2"], "--load and --loads exclude each other"),
    (["--loads", "0.5,0.5"], "load 0.5 is given twice"),
    (["--loads", "0.5,-1"], "load must be a number > 0"),
    (["--loads", "fast"], "load 'fast' is not a number"),
])
def test_bad_loads_fail_fast(args: list[str], message: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started despite bad loads")

    monkeypatch.setattr("corral.sweep.grid.simulate", never)
    result = runner.invoke(app, ["compare", "--policies", "fifo", *args, *SMALL])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}")


def test_a_failed_run_is_named_after_the_others_are_shown(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = corral.simulate

    def fails_for_greedy(trace: object, **kwargs: object) -> object:
        if kwargs["policy"] == "greedy":
            raise ValueError("boom")
        return real(trace, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("corral.sweep.grid.simulate", fails_for_greedy)
    result = runner.invoke(app, ["compare", "--policies", "fifo,greedy", "--out",
                                 str(tmp_path), "--limit", "100", "--jobs", "1"])
    assert result.exit_code == 2
    *progress, last = result.stderr.strip().splitlines()
    assert last == "error: 1 of 2 runs failed: sample, greedy, load 1, seed 0 (ValueError: boom)"
    assert all(line.startswith("runs: ") for line in progress)
    assert "fifo" in result.stdout
    rows = list(csv.DictReader((tmp_path / "comparison.csv").read_text(encoding="utf-8")
                               .splitlines()))
    assert [row["policy"] for row in rows] == ["fifo"]


def test_progress_across_runs_is_plain_lines_on_stderr_when_not_a_terminal() -> None:
    result = runner.invoke(app, ["compare", "--policies", "fifo,greedy", "--json", *SMALL])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("runs: ")]
    assert [line.split(",")[0] for line in lines] == ["runs: 1 of 2 finished",
                                                       "runs: 2 of 2 finished"]
    assert "left" in lines[0] and "\x1b" not in result.stderr
    json.loads(result.stdout)  # stdout stays clean JSON
