"""`corral cache stats` on a cache directory, and its bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from corral.cli.main import app
from corral.datacache import DirectoryStore, open_cache


def test_stats_of_a_cache_directory(dataset, tmp_path: Path) -> None:
    store = DirectoryStore(dataset[0])
    cache = open_cache(store, 10_000, "lru", "imgs", tmp_path / "c")
    for info in list(store.list()) * 2:
        cache.read(info)
    result = CliRunner().invoke(app, ["cache", "stats", str(tmp_path / "c"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["policy"] == "lru" and report["used"] == 10_000
    assert [e["epoch"] for e in report["epochs"]] == [1, 2]
    table = CliRunner().invoke(app, ["cache", "stats", str(tmp_path / "c")])
    assert "policy lru" in table.stdout


def test_stats_of_something_else_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["cache", "stats", str(tmp_path)])
    assert result.exit_code == 2
    assert "neither a cache mount nor a cache directory" in result.stderr
