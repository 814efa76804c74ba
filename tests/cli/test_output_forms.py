"""``-o table|wide|json|csv``, whole tables off a terminal, one error style, ``-v``/``-q``."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from corral.cli.main import app

runner = CliRunner()

SMALL = ["--limit", "60", "--cluster", "4x8", "--jobs", "1"]


def test_piped_sweep_shows_every_run_and_every_cell_whole(tmp_path: Path) -> None:
    # Through a real pipe, as `corral sweep ... | less` or a CI log sees it.
    done = subprocess.run(
        [sys.executable, "-m", "corral", "sweep", "--policies", "fifo,greedy",
         "--seeds", "0,1", "--loads", "0.5,1", *SMALL],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout
    rows = [cells for cells in map(str.split, done.stdout.splitlines())
            if len(cells) > 3 and cells[2] in ("fifo", "greedy")]
    assert sorted((row[0], row[1], row[2]) for row in rows) == sorted(
        (load, seed, policy) for load in ("0.5", "1") for seed in ("0", "1")
        for policy in ("fifo", "greedy"))
    assert "queueing avg" in done.stdout  # headings whole too


def test_compare_csv_and_json_carry_the_same_runs() -> None:
    as_csv = runner.invoke(app, ["compare", "--policies", "fifo,greedy", "-o", "csv", *SMALL])
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    as_json = runner.invoke(app, ["compare", "--policies", "fifo,greedy", "-o", "json", *SMALL])
    summaries = json.loads(as_json.stdout)
    assert [r["policy"] for r in rows] == [s["policy"] for s in summaries] == ["fifo", "greedy"]
    assert [float(r["avg_jct"]) for r in rows] == [s["avg_jct"] for s in summaries]


def test_wide_compare_is_one_row_per_run() -> None:
    result = runner.invoke(app, ["compare", "--policies", "fifo,greedy", "-o", "wide", *SMALL])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "JCT avg" in line)
    assert header.split()[:3] == ["policy", "JCT", "avg"]


def test_listing_commands_take_every_form() -> None:
    listed = runner.invoke(app, ["policies", "-o", "csv"])
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert {"fifo", "tiresias"} <= {row["policy"] for row in rows}
    formats = json.loads(runner.invoke(app, ["traces", "-o", "json"]).stdout)
    assert set(formats) == {"formats", "presets", "cluster_specs"}
    assert "philly-pollux" in {row["format"] for row in formats["formats"]}


def test_simulate_csv_is_the_summary_table() -> None:
    result = runner.invoke(app, ["simulate", "-o", "csv", "--limit", "50"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert ["policy", "fifo", ""] in rows


def test_option_errors_are_one_error_line_exit_2() -> None:
    for args, named in ((["simulate", "--bogus"], "--bogus"),
                        (["simulate", "-o", "yaml"], "yaml"),
                        (["history", "stats", "--by"], "--by"),
                        (["simulat"], "simulate")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert named in lines[0]
        assert "Usage:" not in result.stderr and "╭" not in result.stderr


def test_quiet_keeps_results_and_drops_remarks(tmp_path: Path) -> None:
    loud = runner.invoke(app, ["simulate", "--limit", "30", "--out", str(tmp_path / "a")])
    quiet = runner.invoke(app, ["-q", "simulate", "--limit", "30", "--out", str(tmp_path / "b")])
    assert "wrote " in loud.stdout and "wrote " not in quiet.stdout
    assert "JCT avg" in quiet.stdout
    assert (tmp_path / "b" / "summary.json").is_file()
    both = runner.invoke(app, ["-q", "-v", "policies"])
    assert both.exit_code == 2 and both.stderr.startswith("error: ")


def test_completion_is_offered() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout
