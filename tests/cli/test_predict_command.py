"""``corral predict evaluate``: a table, --json, and one error line for bad input."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from corral.cli.main import app

runner = CliRunner()


def test_json_on_the_bundled_sample():
    result = runner.invoke(app, ["predict", "evaluate", "--limit", "400", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["jobs"] == 120
    for side in ("model", "fallback"):
        assert set(data[side]) == {"mae", "mdape", "within_2x"}
        assert 0 <= data[side]["within_2x"] <= 1


def test_table_names_both_predictors():
    result = runner.invoke(app, ["predict", "evaluate", "--limit", "300",
                                 "--train-fraction", "0.5"])
    assert result.exit_code == 0, result.output
    assert "model" in result.stdout and "fallback" in result.stdout


def test_bad_input_is_one_error_line():
    result = runner.invoke(app, ["predict", "evaluate", "--train-fraction", "1.5",
                                 "--limit", "50"])
    assert result.exit_code == 2
    assert result.stderr.count("error:") == 1 and "train fraction" in result.stderr
