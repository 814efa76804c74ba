"""Sweeps: many simulations over traces x policies x loads x seeds, run locally or on Ray.

:func:`build_grid` checks a sweep and lays out its cells; :func:`run_sweep` runs them on an
executor, :class:`LocalProcesses` by default or :class:`RayCluster`, and returns one
:class:`~corral.sim.result.SimulationResult` per cell in grid order.
"""

from corral.sweep.grid import Cell, SweepGrid, build_grid
from corral.sweep.local_processes import LocalProcesses
from corral.sweep.ray_cluster import RayCluster
from corral.sweep.runner import Executor, SweepError, run_sweep

__all__ = [
    "Cell",
    "Executor",
    "LocalProcesses",
    "RayCluster",
    "SweepError",
    "SweepGrid",
    "build_grid",
    "run_sweep",
]
