"""Running a sweep's cells as tasks on an existing Ray cluster (``--ray ADDRESS``).

Ray is an optional extra (``pip install 'corral[ray]'``), so it is imported only here and only
when asked for. Each trace goes into Ray's object store once and every cell reads it from
there; the cells are plain remote calls of the same function the local processes run, so the
results are the same and are gathered the same way. The cluster's nodes need Corral (the same
version) installed; built-in policies and inline or preset cluster specs need nothing else,
while a policy or cluster TOML file must exist at the same path on every node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from corral.model import ConfigError
from corral.sim.result import SimulationResult
from corral.sweep.grid import SweepGrid, run_cell

INSTALL_HINT = "install Corral's ray extra: pip install 'corral[ray]'"


@dataclass(frozen=True)
class RayCluster:
    """Run cells on the Ray cluster at *address* (``HOST:PORT`` of its head, or ``auto`` for
    the one this machine belongs to); this process connects as a driver for the sweep only."""

    address: str

    def __post_init__(self) -> None:
        if not self.address.strip():
            raise ConfigError("the Ray address is empty (give HOST:PORT or auto)")
        _ray()  # a missing extra fails now, before any trace is read

    def run(self, grid: SweepGrid, on_done: Callable[[int, int], None] | None = None,
            ) -> list[SimulationResult | Exception]:
        """Each cell's result, or the exception it raised, in grid order."""
        ray = _ray()
        try:
            ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"cannot connect to Ray at {self.address!r}: {exc}") from None
        try:
            traces = [ray.put(trace) for trace in grid.traces]
            remote_cell = ray.remote(run_cell)
            pending = {remote_cell.remote(traces[cell.trace], grid.cluster, grid.queues,
                                                   cell): index
                       for index, cell in enumerate(grid.cells)}
            outcomes: dict[int, SimulationResult | Exception] = {}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(done[0])
                try:
                    outcomes[index] = ray.get(done[0])
                except ray.exceptions.RayTaskError as exc:  # the cell raised: report that
                    outcomes[index] = exc.cause if isinstance(exc.cause, Exception) else exc
                except Exception as exc:  # lost worker or node: reported with its cell
                    outcomes[index] = exc
                if on_done is not None:
                    on_done(len(outcomes), len(grid.cells))
            return [outcomes[index] for index in range(len(grid.cells))]
        finally:
            ray.shutdown()


def _ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ConfigError(f"running on Ray needs the ray package: {INSTALL_HINT}") from None
    return ray
