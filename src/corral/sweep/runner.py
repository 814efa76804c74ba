"""Running a sweep's grid on an executor and gathering the results in grid order.

An executor runs cells somewhere (worker processes here, a Ray cluster) and hands back each
cell's result or the exception it raised; it never stops at the first failure, so one bad cell
costs only itself. The runner then names every failed cell in one error, which still carries
the results of the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from corral.model import CorralError
from corral.sim.result import SimulationResult
from corral.sweep.grid import SweepGrid
from corral.sweep.local_processes import LocalProcesses

SHOWN_FAILURES = 3
"""Failed cells named in a :class:`SweepError` message; the rest are counted."""


class Executor(Protocol):
    """Somewhere to run a sweep: :class:`LocalProcesses` or :class:`RayCluster`."""

    def run(self, grid: SweepGrid, on_done: Callable[[int, int], None] | None = None,
            ) -> list[SimulationResult | Exception]:
        """Each cell's result, or the exception it raised, in grid order; *on_done(finished,
        total)* is called as cells finish."""
        ...


class SweepError(CorralError):
    """Some cells failed. *results* holds every cell's result in grid order, None where the
    cell failed; *failures* pairs each failed cell, in words, with its exception."""

    def __init__(self, failures: list[tuple[str, Exception]],
                 results: list[SimulationResult | None]) -> None:
        shown = "; ".join(f"{cell} ({type(exc).__name__}: {_first_line(exc)})"
                          for cell, exc in failures[:SHOWN_FAILURES])
        more = len(failures) - SHOWN_FAILURES
        super().__init__(f"{len(failures)} of {len(results)} runs failed: {shown}"
                         + (f"; and {more} more" if more > 0 else ""))
        self.failures = failures
        self.results = results


def run_sweep(grid: SweepGrid, executor: Executor | None = None,
              on_done: Callable[[int, int], None] | None = None) -> list[SimulationResult]:
    """Run every cell of *grid* on *executor* (default: :class:`LocalProcesses`); the results
    come in grid order. Raises :class:`SweepError`, after every cell has run, if any failed."""
    outcomes = (executor or LocalProcesses()).run(grid, on_done)
    failures = [(grid.describe(cell), outcome) for cell, outcome in zip(grid.cells, outcomes,
                                                                         strict=True)
                if isinstance(outcome, Exception)]
    if failures:
        raise SweepError(failures, [None if isinstance(outcome, Exception) else outcome
                                    for outcome in outcomes])
    return [outcome for outcome in outcomes if not isinstance(outcome, Exception)]


def _first_line(exc: Exception) -> str:
    """The gist of *exc*: errors relayed from elsewhere (Ray's) carry a traceback below it."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""
