"""The sweep grid: cell order, names, and bad input failing before any run."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import write_trace
from corral.model import ConfigError
from corral.report.comparison import run_folder
from corral.sweep import build_grid
from corral.sweep.grid import load_text, loads_from_text, seeds_from_text
from corral.traces import read_trace


def test_cells_run_traces_then_loads_then_seeds_then_policies(tmp_path: Path) -> None:
    grid = build_grid([None, write_trace(tmp_path / "mini.csv")], ["fifo", "greedy"],
                      loads=[0.5, 2], seeds=[0, 3], cluster="4x8", limit=50)
    assert [t.name for t in grid.traces] == ["sample", "mini"]
    assert len(grid.traces[0].jobs) == 50 and len(grid.traces[1].jobs) == 40
    assert grid.cluster == "4x8"
    assert [(c.trace, c.load, c.seed, c.policy) for c in grid.cells[:5]] == [
        (0, 0.5, 0, "fifo"), (0, 0.5, 0, "greedy"), (0, 0.5, 3, "fifo"), (0, 0.5, 3, "greedy"),
        (0, 2.0, 0, "fifo")]
    assert len(grid.cells) == 2 * 2 * 2 * 2
    assert grid.cells[-1].trace == 1
    assert grid.describe(grid.cells[2]) == "sample, fifo, load 0.5, seed 3"


def test_an_already_read_trace_is_used_as_it_is() -> None:
    trace = read_trace(limit=10)
    grid = build_grid([trace], ["fifo"])
    assert grid.traces == (trace,) and grid.cluster is None
    assert [(c.load, c.seed) for c in grid.cells] == [(1.0, 0)]


@pytest.mark.parametrize(("text", "expected"), [
    ("0.5,0.7,0.9", (0.5, 0.7, 0.9)), (" 1 , 2.5 ", (1.0, 2.5)), ("1e-1", (0.1,))])
def test_loads_from_text(text: str, expected: tuple[float, ...]) -> None:
    assert loads_from_text(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("0.5,0.5", "load 0.5 is given twice"), ("1,1.0", "load 1 is given twice"),
    ("0.5,abc", "load 'abc' is not a number"), ("0", "load must be a number > 0"),
    ("-1", "load must be a number > 0"), ("nan", "load must be a number > 0"),
    ("inf", "load must be a number > 0"), (",", "no loads to run"), ("", "no loads to run"),
], ids=["duplicate", "duplicate-spelt-apart", "word", "zero", "negative", "nan", "inf",
        "only-commas", "empty"])
def test_bad_loads_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        loads_from_text(text)


@pytest.mark.parametrize(("text", "message"), [
    ("0,1,0", "seed 0 is given twice"), ("1.5", "seed '1.5' is not a whole number"),
    ("-2", "seed must be a whole number >= 0"), ("", "no seeds to run")])
def test_bad_seeds_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        seeds_from_text(text)


def test_seeds_from_text() -> None:
    assert seeds_from_text("0, 1,2") == (0, 1, 2)


@pytest.mark.parametrize(("policies", "message"), [
    (["fifo", "no-such-policy"], "no-such-policy"), (["fifo", "fifo"], "given twice"),
    ([], "no policies")])
def test_bad_policies_fail_before_any_trace_is_read(
        policies: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a trace was read despite a bad policy list")

    monkeypatch.setattr("corral.sweep.grid.read_trace", never)
    with pytest.raises(ConfigError, match=message):
        build_grid([None], policies)


def test_a_cluster_one_trace_cannot_use_fails_the_grid(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        build_grid([None, write_trace(tmp_path / "mini.csv")], ["fifo"], cluster="0x0")


def test_two_traces_with_one_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    traces = [write_trace(tmp_path / "a" / "t.csv"), write_trace(tmp_path / "b" / "t.csv")]
    with pytest.raises(ConfigError, match="two traces are named 't'"):
        build_grid(traces, ["fifo"])


def test_no_traces_is_refused() -> None:
    with pytest.raises(ConfigError, match="no traces"):
        build_grid([], ["fifo"])


@pytest.mark.parametrize(("load", "text"), [(1.0, "1"), (0.7, "0.7"), (2.5, "2.5"),
                                            (0.1 + 0.2, "0.30000000000000004")])
def test_load_text_is_short_and_exact(load: float, text: str) -> None:
    assert load_text(load) == text


def test_run_folders_name_each_part() -> None:
    summary = {"trace": "philly", "policy": "fifo", "load": 0.7, "seed": 2}
    assert run_folder(summary, ["policy"]) == Path("fifo")
    assert run_folder(summary, ["policy", "load"]) == Path("fifo/load-0.7")
    assert run_folder(summary, ["trace", "policy", "load", "seed"]) == Path(
        "philly/fifo/load-0.7/seed-2")
    with pytest.raises(ValueError, match="cluster"):
        run_folder(summary, ["cluster"])
