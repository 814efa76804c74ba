"""Running a sweep's cells in worker processes on this machine, the default executor.

Each cell is an independent simulation, so cells run in parallel processes. The traces go to
each worker once, when it starts, rather than with every cell: a sweep of 27 cells on an
80,000-job trace would otherwise pickle the trace 27 times.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from corral.model import ConfigError
from corral.sim.result import SimulationResult
from corral.sweep.grid import Cell, SweepGrid, run_cell
from corral.traces import Trace

_worker_traces: tuple[Trace, ...] = ()
_worker_cluster: str | None = None
_worker_queues: str | None = None
"""What a worker process received when it started; set only inside workers."""


@dataclass(frozen=True)
class LocalProcesses:
    """Run cells in *workers* processes; default: one per cell, at most one per CPU.

    With one worker the cells run in this process, one after another, which is also what
    debuggers and profilers want.
    """

    workers: int | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")

    def run(self, grid: SweepGrid, on_done: Callable[[int, int], None] | None = None,
            ) -> list[SimulationResult | Exception]:
        """Each cell's result, or the exception it raised, in grid order."""
        cells = grid.cells
        outcomes: dict[int, SimulationResult | Exception] = {}
        count = self.workers or min(len(cells), os.cpu_count() or 1)
        if count == 1:
            for index, cell in enumerate(cells):
                try:
                    outcomes[index] = run_cell(grid.traces[cell.trace], grid.cluster, grid.queues,
                                               cell)
                except Exception as exc:  # reported with its cell by the runner
                    outcomes[index] = exc
                if on_done is not None:
                    on_done(index + 1, len(cells))
            return [outcomes[index] for index in range(len(cells))]
        with ProcessPoolExecutor(max_workers=count, initializer=_receive,
                                 initargs=(grid.traces, grid.cluster, grid.queues)) as pool:
            futures = {pool.submit(_run_in_worker, cell): index
                       for index, cell in enumerate(cells)}
            for finished, future in enumerate(as_completed(futures), start=1):
                try:
                    outcomes[futures[future]] = future.result()
                except Exception as exc:  # a crashed worker fails its cells, not the others
                    outcomes[futures[future]] = exc
                if on_done is not None:
                    on_done(finished, len(cells))
        return [outcomes[index] for index in range(len(cells))]


def _receive(traces: tuple[Trace, ...], cluster: str | None, queues: str | None) -> None:
    """Worker initializer: keep the sweep's traces, cluster and queue specs for its cells."""
    global _worker_traces, _worker_cluster, _worker_queues
    _worker_traces, _worker_cluster, _worker_queues = traces, cluster, queues


def _run_in_worker(cell: Cell) -> SimulationResult:
    return run_cell(_worker_traces[cell.trace], _worker_cluster, _worker_queues, cell)
