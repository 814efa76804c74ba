"""Running a grid: the same results in processes as in this process, and failures by cell."""

from __future__ import annotations

import pytest

import corral
from corral.model import ConfigError, CorralError
from corral.sim.result import TIMING_KEYS, SimulationResult
from corral.sweep import LocalProcesses, SweepError, build_grid, run_sweep

GRID = {"loads": [1, 3], "seeds": [0, 1], "cluster": "6x8", "limit": 120}


def figures(result: SimulationResult) -> dict[str, object]:
    return {k: v for k, v in result.summary.items() if k not in TIMING_KEYS}


def test_processes_give_the_results_of_direct_runs_in_grid_order() -> None:
    grid = build_grid([None], ["fifo", "greedy"], **GRID)
    calls: list[tuple[int, int]] = []
    results = run_sweep(grid, LocalProcesses(workers=2),
                        on_done=lambda done, total: calls.append((done, total)))
    assert [(r.summary["load"], r.summary["seed"], r.summary["policy"]) for r in results] == [
        (1, 0, "fifo"), (1, 0, "greedy"), (1, 1, "fifo"), (1, 1, "greedy"),
        (3, 0, "fifo"), (3, 0, "greedy"), (3, 1, "fifo"), (3, 1, "greedy")]
    assert calls == [(n, 8) for n in range(1, 9)]
    for result in results:
        s = result.summary
        direct = corral.simulate(policy=s["policy"], cluster="6x8", limit=120, load=s["load"],
                                 seed=s["seed"])
        assert figures(result) == figures(direct)
        assert result.jobs.equals(direct.jobs)


def test_one_failed_cell_is_named_and_the_others_are_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = corral.simulate

    def fails_for_greedy_at_load_3(trace: object, **kwargs: object) -> SimulationResult:
        if kwargs["policy"] == "greedy" and kwargs["load"] == 3:
            raise ValueError("boom")
        return real(trace, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("corral.sweep.grid.simulate", fails_for_greedy_at_load_3)
    grid = build_grid([None], ["fifo", "greedy"], **GRID)
    with pytest.raises(SweepError) as caught:
        run_sweep(grid, LocalProcesses(workers=1))
    error = caught.value
    assert isinstance(error, CorralError)
    assert str(error) == ("2 of 8 runs failed: sample, greedy, load 3, seed 0 (ValueError: "
                          "boom); sample, greedy, load 3, seed 1 (ValueError: boom)")
    assert [cell for cell, _ in error.failures] == ["sample, greedy, load 3, seed 0",
                                                    "sample, greedy, load 3, seed 1"]
    kept = [None if r is None else (r.summary["load"], r.summary["policy"])
            for r in error.results]
    assert kept == [(1, "fifo"), (1, "greedy"), (1, "fifo"), (1, "greedy"),
                    (3, "fifo"), None, (3, "fifo"), None]


def test_a_long_list_of_failures_is_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    def always(*args: object, **kwargs: object) -> None:
        raise RuntimeError("first line\nsecond line")

    monkeypatch.setattr("corral.sweep.grid.simulate", always)
    grid = build_grid([None], ["fifo", "greedy"], **GRID)
    with pytest.raises(SweepError) as caught:
        run_sweep(grid, LocalProcesses(workers=1))
    message = str(caught.value)
    assert message.startswith("8 of 8 runs failed: sample, fifo, load 1, seed 0 "
                              "(RuntimeError: first line);")
    assert message.endswith("; and 5 more") and "second line" not in message
    assert caught.value.results == [None] * 8


def test_workers_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        LocalProcesses(workers=0)
