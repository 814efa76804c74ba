"""What a new user trips over first: each message names the real problem, before any work."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from corral.cli.main import app
from corral.report.charts import Curve, Panel, distribution_chart
from corral.report.summary_table import fairness_groups
from corral.sim.result import SimulationResult

runner = CliRunner()


def test_out_that_cannot_be_written_fails_before_the_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    for command in (["compare", "--policies", "fifo"], ["sweep", "--policies", "fifo"],
                    ["pack", "--policies", "greedy"]):
        result = runner.invoke(app, [*command, "--limit", "5", "--out", str(blocker / "o")])
        assert result.exit_code == 2, command
        assert result.stderr.startswith(f"error: --out {blocker / 'o'}: cannot write there")
        assert "JCT" not in result.stdout  # nothing ran


def test_cache_simulate_blames_the_option_at_fault() -> None:
    seed = runner.invoke(app, ["cache", "simulate", "--seed", "-3"])
    assert seed.exit_code == 2 and "'--seed'" in seed.stderr and "cache-gb" not in seed.stderr
    sizes = runner.invoke(app, ["cache", "simulate", "--cache-gb", "10,x"])
    assert sizes.exit_code == 2 and "--cache-gb" in sizes.stderr


POLICY = """name = "typo"
[plugins]
queue_sort = "{sort}"
filter = ["ResourceFit"]
permit = ["StrictGang"]
[plugin_args.{args}]
thresholds = [3250, 7200]
"""


@pytest.mark.parametrize(("sort", "args", "expected"), [
    ("LasOrdr", "LasOrder", "unknown plugin 'LasOrdr'"),
    ("LasOrder", "LasOrdr", "LasOrdr (did you mean LasOrder?)"),
])
def test_a_misspelt_plugin_is_named(tmp_path: Path, sort: str, args: str,
                                    expected: str) -> None:
    policy = tmp_path / "typo.toml"
    policy.write_text(POLICY.format(sort=sort, args=args))
    result = runner.invoke(app, ["simulate", "--policy", str(policy), "--limit", "5"])
    assert result.exit_code == 2 and expected in result.stderr


def test_status_without_a_kubeconfig_says_what_to_do(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for command in (["status"], ["jobs"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert "no kubeconfig at" in result.stderr and "--kubeconfig" in result.stderr
        assert "Invalid kube-config" not in result.stderr
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["status", "--kubeconfig", str(missing)])
    assert f"no kubeconfig at {missing}" in result.stderr.replace("\n", "")
    assert os.environ.get("KUBECONFIG") is None


def test_help_shows_brackets_and_names_real_options() -> None:
    trial = runner.invoke(app, ["trial", "run", "--help"], terminal_width=200)
    assert "[unit]" in trial.stdout
    export = runner.invoke(app, ["history", "export", "--help"], terminal_width=200)
    assert "--trace" not in export.stdout and "corral simulate FILE" in export.stdout


def test_fairness_says_whom_it_compares() -> None:
    def result(users: list[str]) -> SimulationResult:
        jobs = pd.DataFrame({"user": users, "queue": ["a", "b"]})
        return SimulationResult(summary={}, jobs=jobs, timeseries=pd.DataFrame())

    assert fairness_groups(result(["", ""])) == "queues"
    assert fairness_groups(result(["ada", ""])) == "users"


def test_identical_curves_stay_visible() -> None:
    x, y = np.array([1.0, 10.0, 100.0]), np.array([0.2, 0.6, 1.0])
    other = np.array([0.1, 0.3, 1.0])
    panel = Panel("JCT CDF", "jct", "fraction", [Curve("fifo", "#111111", x, y),
                                                   Curve("backfill", "#222222", x, y),
                                                   Curve("tiresias", "#333333", x, other)])
    svg = distribution_chart([panel], "t")
    assert svg.count("stroke-dasharray") == 1  # backfill, over fifo; tiresias differs
