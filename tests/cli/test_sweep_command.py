"""``corral sweep``: the full grid over two traces, its files, and its errors."""

from __future__ import annotations

import csv
import json
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from builders import write_trace
from corral.cli.main import app
from corral.sim.result import SUMMARY_KEYS

runner = CliRunner()

SAMPLE = str(files("corral.traces").joinpath("samples", "philly-pollux-sample.csv.gz"))
GRID = ["--policies", "fifo,greedy", "--loads", "1,2", "--seeds", "0,1", "--limit", "60",
        "--cluster", "6x8"]



@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The bundled sample and a written trace, x 2 policies x 2 loads x 2 seeds: 16 runs."""
    root = tmp_path_factory.mktemp("sweep")
    mini = write_trace(root / "mini.csv")
    result = runner.invoke(app, ["sweep", SAMPLE, str(mini), *GRID, "--jobs", "2",
                                 "--out", str(root / "out")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return root / "out", result.stdout


def test_sweep_csv_has_one_row_per_cell_in_grid_order(swept: tuple[Path, str]) -> None:
    out, _ = swept
    lines = (out / "sweep.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(SUMMARY_KEYS)
    rows = list(csv.DictReader(lines))
    assert [(r["trace"], r["load"], r["seed"], r["policy"]) for r in rows] == [
        (trace, load, seed, policy) for trace in ("philly-pollux-sample", "mini")
        for load in ("1.0", "2.0") for seed in ("0", "1") for policy in ("fifo", "greedy")]
    assert {r["jobs"] for r in rows if r["trace"] == "mini"} == {"40"}
    assert {r["jobs"] for r in rows if r["trace"] != "mini"} == {"60"}


def test_each_cell_has_its_run_folder(swept: tuple[Path, str]) -> None:
    out, _ = swept
    folders = sorted(p.parent.relative_to(out).as_posix() for p in out.rglob("summary.json"))
    assert len(folders) == 16
    assert folders[0] == "mini/fifo/load-1/seed-0"
    summary = json.loads((out / "philly-pollux-sample/greedy/load-2/seed-1/summary.json")
                         .read_text(encoding="utf-8"))
    assert (summary["policy"], summary["load"], summary["seed"]) == ("greedy", 2.0, 1)
    assert (out / "jct_vs_load.png").read_bytes()[:4] == b"\x89PNG"


def test_table_shows_what_varies(swept: tuple[Path, str]) -> None:
    _, stdout = swept
    assert "Corral sweep" in stdout
    header = next(line for line in stdout.splitlines() if "JCT avg" in line)
    assert header.split()[:5] == ["trace", "load", "seed", "policy", "JCT"]
    assert "wrote sweep.csv, jct_vs_load.png and 16 run folders" in stdout


def test_json_lists_the_summaries() -> None:
    result = runner.invoke(app, ["sweep", "--policies", "fifo", "--seeds", "0,2", "--limit",
                                 "50", "--json"])
    assert result.exit_code == 0, result.output
    summaries = json.loads(result.stdout)
    assert [(s["trace"], s["seed"], s["load"]) for s in summaries] == [
        ("sample", 0, 1.0), ("sample", 2, 1.0)]


@pytest.mark.parametrize(("args", "message"), [
    (["--policies", "fifo,nope"], "nope"),
    (["--policies", "fifo", "--seeds", "1,1"], "seed 1 is given twice"),
    (["--policies", "fifo", "--loads", "0"], "load must be a number > 0"),
    (["--policies", "fifo", "--jobs", "2", "--ray", "auto"], "--jobs sets local worker"),
    (["--policies", "fifo", "--ray", " "], "the Ray address is empty"),
    (["--policies", "fifo", "no-such-trace.csv"], "no-such-trace.csv"),
])
def test_bad_input_is_one_error_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["sweep", *args])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_status_on_a_terminal_does_not_disturb_the_output(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = runner.invoke(app, ["sweep", "--policies", "fifo,greedy", "--limit", "50",
                                 "--jobs", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert [s["policy"] for s in json.loads(result.stdout)] == ["fifo", "greedy"]
