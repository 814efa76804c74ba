"""``corral simulate --clusters`` and ``corral compare --dispatch``: tables, files, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from corral.cli.main import app

runner = CliRunner()


def test_compare_dispatch_side_by_side(clusters_toml: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", "--clusters", str(clusters_toml), "--dispatch",
                                 "home,home-spill", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Dispatch across clusters" in result.stdout and "home-spill" in result.stdout
    rows = list(csv.DictReader((out / "dispatch_comparison.csv").open()))
    assert [row["dispatch"] for row in rows] == ["home", "home-spill"]
    assert (out / "home-spill" / "jobs.csv").is_file()


def test_simulate_clusters_json(clusters_toml: Path) -> None:
    result = runner.invoke(app, ["simulate", "--clusters", str(clusters_toml), "--json"])
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    assert summary["dispatch"] == "home" and summary["jobs"] == 18


def test_dispatch_without_clusters_is_bad_input() -> None:
    result = runner.invoke(app, ["compare", "--dispatch", "home"])
    assert result.exit_code == 2
    assert "--dispatch needs --clusters" in result.stderr


def test_unknown_dispatch_policy_is_bad_input(clusters_toml: Path) -> None:
    result = runner.invoke(app, ["compare", "--clusters", str(clusters_toml), "--dispatch",
                                 "home,nearest"])
    assert result.exit_code == 2
    assert "unknown dispatch policy 'nearest'" in result.stderr


def test_single_cluster_options_are_refused_with_clusters(clusters_toml: Path) -> None:
    result = runner.invoke(app, ["simulate", "trace.csv", "--clusters", str(clusters_toml),
                                 "--cluster", "4x8"])
    assert result.exit_code == 2
    assert "TRACE, --cluster cannot be combined with --clusters" in result.stderr
