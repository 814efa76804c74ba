"""The trace-free simulation reproduces the published NR row and the ranges of the others."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from corral.cli.main import app
from corral.datacache.simulate import simulate
from corral.datacache.sizes import SizeDist, parse_size
from corral.model import ConfigError

CACHES = (10, 50, 100, 160, 200)
NR_ROW = {10: 0.0625, 50: 0.3125, 100: 0.625, 160: 1.0, 200: 1.0}


def test_table_nr_exact_others_in_range() -> None:
    runs = simulate(160, CACHES, 5, SizeDist.parse("fixed:10M"))
    assert len(runs) == 4 * len(CACHES)
    for run in runs:
        steady = run.hit_ratio_per_epoch[1:]
        assert run.hit_ratio_per_epoch[0] == 0.0  # a cold cache hits nothing
        bound = NR_ROW[run.cache_gb]
        if run.policy == "nr" or run.cache_gb >= 160:
            assert steady == (bound,) * 4, run
        else:
            assert all(0 <= r < bound for r in steady), run


def test_variable_sizes_keep_nr_within_a_file_of_the_bound() -> None:
    runs = simulate(16, [4], 3, SizeDist.parse("lognormal:110K,1.0"), ["nr"], max_files=20_000)
    assert runs[0].hit_ratio_per_epoch[1] == pytest.approx(0.25, abs=0.005)


def test_cli_json_lists_policy_cache_and_fractions() -> None:
    result = CliRunner().invoke(app, ["cache", "simulate", "--dataset-gb", "160", "--cache-gb",
                                      "10,200", "--epochs", "2", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0] == {"policy": "nr", "cache_gb": 10.0, "hit_ratio_per_epoch": [0.0, 0.0625]}
    assert {r["policy"] for r in rows} == {"nr", "lru", "fifo", "random"}


@pytest.mark.parametrize("args", [["--file-size-dist", "gamma:1"], ["--cache-gb", "ten"],
                                  ["--policies", "mru"], ["--dataset-gb", "0"]])
def test_cli_bad_input_is_one_error_line(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["cache", "simulate", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")


def test_sizes() -> None:
    assert parse_size("100G") == 100 << 30
    assert parse_size("64MiB") == 64 << 20
    assert parse_size("4096") == 4096
    with pytest.raises(ConfigError, match="not a size"):
        parse_size("lots")
