"""``corral simulate``: the run files, determinism, --json, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from corral.cli.main import app
from corral.sim.result import JOB_COLUMNS, SUMMARY_KEYS, TIMESERIES_COLUMNS, TIMING_KEYS

runner = CliRunner()

PHILLY_HEADER = "timestamp,duration,num_gpus,gpu_time,cluster"


def run_ok(*args: str) -> str:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_out_writes_the_run_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    stdout = run_ok("--out", str(out), "--limit", "200")
    assert ("wrote summary.json, jobs.csv, timeseries.csv, queues.csv, queue_timeseries.csv to"
            in stdout)
    assert "JCT avg" in stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["jobs"] == 200 and summary["policy"] == "fifo"
    jobs = (out / "jobs.csv").read_text(encoding="utf-8").splitlines()
    assert jobs[0] == ",".join(JOB_COLUMNS) and len(jobs) == 201
    series = (out / "timeseries.csv").read_text(encoding="utf-8").splitlines()
    assert series[0] == ",".join(TIMESERIES_COLUMNS) and len(series) > 1
    queues = pd.read_csv(out / "queues.csv")
    assert queues["jobs"].sum() == 200  # every job counted under its (Philly VC) queue
    assert queues["share_met"].isna().all()  # no quotas configured


def test_same_seed_gives_the_same_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        run_ok("--out", str(tmp_path / name), "--limit", "200", "--seed", "7")
    for name in ("jobs.csv", "timeseries.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    a, b = (json.loads((tmp_path / n / "summary.json").read_text(encoding="utf-8"))
            for n in ("a", "b"))
    for key in TIMING_KEYS:
        del a[key], b[key]
    assert a == b and a["seed"] == 7


def test_json_prints_only_the_summary_on_stdout(tmp_path: Path) -> None:
    trace = tmp_path / "bad-rows.csv"
    trace.write_text(f"{PHILLY_HEADER}\n2017-09-04 10:30:41,100.0,1,100.0,vc\n"
                     "2017-09-04 10:31:00,oops,1,100.0,vc\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", str(trace), "--json", "--cluster", "2x8",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["skipped"] == {"bad_number": 1} and summary["jobs"] == 1
    assert "skipped: bad_number 1" in result.stderr
    assert "wrote" in result.stderr


def test_skipped_reasons_are_listed(tmp_path: Path) -> None:
    trace = tmp_path / "zero-gpu.csv"
    trace.write_text(f"{PHILLY_HEADER}\n2017-09-04 10:30:41,100.0,1,100.0,vc\n"
                     "2017-09-04 10:31:00,50.0,0,0.0,vc\n", encoding="utf-8")
    assert "skipped: no_gpu 1" in run_ok(str(trace), "--cluster", "1x8")


def test_progress_bar_on_a_terminal_does_not_disturb_the_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "JCT avg" in run_ok("--limit", "50", "--policy", "greedy")


def test_sim_config_file_is_used(tmp_path: Path) -> None:
    """A config that runs the cluster's only GPU type at a quarter of the reference speed:
    every job runs exactly four times as long as without it."""
    config = tmp_path / "sim.toml"
    config.write_text('reference_gpu_type = "REF"\n[gpu_speed]\nV100 = 0.25\n',
                      encoding="utf-8")
    runs = {}
    for name, extra in (("plain", []), ("slow", ["--sim-config", str(config)])):
        run_ok("--limit", "20", "--cluster", "4x8:V100", "--out", str(tmp_path / name), *extra)
        runs[name] = pd.read_csv(tmp_path / name / "jobs.csv").set_index("job_id")
    plain, slow = runs["plain"], runs["slow"]
    assert len(plain) == len(slow) == 20
    assert (plain["preemptions"] == 0).all() and (slow["preemptions"] == 0).all()
    assert list(slow["run_time"]) == pytest.approx(list(4 * plain.loc[slow.index, "run_time"]))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["no/such/trace.csv"], "no/such/trace.csv"),
        (["--cluster", "banana"], "banana"),
        (["--cluster", "0x8"], "0x8"),
        (["--policy", "no-such-policy"], "no-such-policy"),
        (["--policy", "missing.toml"], "missing.toml"),
        (["--sim-config", "missing-sim.toml"], "missing-sim.toml"),
    ],
    ids=["trace-path", "cluster-name", "cluster-size", "policy-name", "policy-file",
         "sim-config"],
)
def test_bad_input_is_one_error_line(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["simulate", "--limit", "20", *args])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert result.stdout == ""
    assert isinstance(result.exception, SystemExit)


def test_unreadable_trace_is_one_error_line(tmp_path: Path) -> None:
    trace = tmp_path / "garbage.csv"
    trace.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", str(trace)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "unknown header" in result.stderr


def test_unwritable_out_is_one_error_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--limit", "10", "--out", str(blocker / "run")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("args", [["--limit", "-3"], ["--limit", "0"], ["--limit", "x"],
                                  ["--seed", "-1"], ["--frobnicate"]])
def test_bad_option_values_are_usage_errors(args: list[str]) -> None:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_python_dash_m_corral_runs_the_same_app() -> None:
    done = subprocess.run([sys.executable, "-m", "corral", "--version"], capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("corral ")
