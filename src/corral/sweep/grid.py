"""The grid of a sweep: every combination of trace, load, seed and policy, in a fixed order.

Everything that can be wrong with a sweep is checked here, in the parent, before any run: the
traces are read (once; the runs share them), every policy is loaded, the cluster spec is
resolved against each trace and the loads and seeds are validated. An hour-long sweep should
not die in its last cell over a typo.

The cluster travels to the runs as its spec, not as a :class:`~corral.clusters.Cluster`: its
nodes hold read-only mappings that do not pickle, and rebuilding it from the same spec and
trace gives the same nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from corral.api import simulate
from corral.clusters import Cluster, build_cluster
from corral.model import ConfigError
from corral.policies import load_policy
from corral.queues import build_queues
from corral.sim.config import load_sim_config
from corral.sim.result import SimulationResult
from corral.traces import Trace, check_load, read_trace

Number = TypeVar("Number", int, float)


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: the trace (its index in :attr:`SweepGrid.traces`), the policy as
    given (a built-in name or a TOML file), the arrival-rate factor, the seed, and the
    simulator's physics (a ``--sim-config`` TOML file, or None for the defaults)."""

    trace: int
    policy: str
    load: float
    seed: int
    sim_config: str | None = None


@dataclass(frozen=True)
class SweepGrid:
    """The traces of a sweep, the cluster spec they all run on, and the cells in grid order."""

    traces: tuple[Trace, ...]
    cluster: str | None
    cells: tuple[Cell, ...]
    queues: str | None = None
    """The queue spec (a TOML file or ``auto``) every run uses, or None for no quotas."""

    def describe(self, cell: Cell) -> str:
        """The cell in words, for messages: ``sample, fifo, load 0.7, seed 0``."""
        name = self.traces[cell.trace].name
        return f"{name}, {cell.policy}, load {load_text(cell.load)}, seed {cell.seed}"


def build_grid(
    traces: Sequence[str | Path | Trace | None],
    policies: Sequence[str | Path],
    *,
    loads: Sequence[float] = (1.0,),
    seeds: Sequence[int] = (0,),
    cluster: str | Path | None = None,
    limit: int | None = None,
    queues: str | Path | None = None,
    sim_config: str | Path | None = None,
) -> SweepGrid:
    """Check the whole sweep and lay out its cells.

    *traces* are paths, already read :class:`Trace` objects, or None for the bundled sample;
    *limit* keeps the first N jobs of each trace read here. Grid order is traces as given,
    then loads, then seeds, then policies, the policies varying fastest: each run of
    ``len(policies)`` consecutive cells compares the policies under the same conditions.
    """
    if isinstance(cluster, Cluster):
        raise TypeError("a sweep takes a cluster spec, not a Cluster (it does not pickle)")
    policy_names(policies)
    loads = check_loads(loads)
    seeds = check_seeds(seeds)
    if not traces:
        raise ConfigError("no traces to sweep")
    read = tuple(t if isinstance(t, Trace) else read_trace(t, limit=limit) for t in traces)
    trace_names(read)
    for trace in read:
        built = build_cluster(cluster, trace)  # a bad spec, or one a trace does not fit, fails
        build_queues(queues, trace.jobs, built.gpus)  # as does a bad queue file
    if sim_config is not None:
        load_sim_config(sim_config)  # as does a bad sim config
    config = None if sim_config is None else str(sim_config)
    cells = tuple(Cell(index, str(policy), load, seed, config)
                  for index in range(len(read)) for load in loads for seed in seeds
                  for policy in policies)
    return SweepGrid(read, None if cluster is None else str(cluster), cells,
                     None if queues is None else str(queues))


def run_cell(trace: Trace, cluster: str | None, queues: str | None,
             cell: Cell) -> SimulationResult:
    """One cell's simulation; module-level so that worker processes and Ray can run it."""
    config = None if cell.sim_config is None else load_sim_config(cell.sim_config)
    return simulate(trace, policy=cell.policy, cluster=cluster, seed=cell.seed, load=cell.load,
                    queues=queues, sim_config=config)


def policy_names(policies: Sequence[str | Path]) -> list[str]:
    """Load every policy up front and return their names, so a typo fails before any run.

    Names must differ: each one names a row and an output folder.
    """
    names: list[str] = []
    for policy in policies:
        name = load_policy(policy).name
        if name in names:
            raise ConfigError(f"policy {name!r} is given twice")
        _check_folder_name("policy", name)
        names.append(name)
    if not names:
        raise ConfigError("no policies to compare")
    return names


def trace_names(traces: Sequence[Trace]) -> list[str]:
    """The traces' names, which must differ: each one names rows and an output folder."""
    names: list[str] = []
    for trace in traces:
        if trace.name in names:
            raise ConfigError(f"two traces are named {trace.name!r} ({trace.source}); "
                              "rename one of the files")
        _check_folder_name("trace", trace.name)
        names.append(trace.name)
    return names


def check_loads(loads: Sequence[float]) -> tuple[float, ...]:
    """*loads* as floats if each is a usable load and none repeats."""
    return _distinct(loads, check_load, "load", load_text)


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """*seeds* if each is a whole number >= 0 and none repeats."""
    return _distinct(seeds, _check_seed, "seed", str)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0, got {seed!r}")
    return seed


def _distinct(values: Sequence[Number], check: Callable[[Number], Number], what: str,
              text: Callable[[Number], str]) -> tuple[Number, ...]:
    """*values* each passed through *check*, none given twice, at least one."""
    checked: list[Number] = []
    for value in values:
        value = check(value)
        if value in checked:
            raise ConfigError(f"{what} {text(value)} is given twice")
        checked.append(value)
    if not checked:
        raise ConfigError(f"no {what}s to run")
    return tuple(checked)


def loads_from_text(text: str) -> tuple[float, ...]:
    """``"0.5,0.7,0.9"`` -> ``(0.5, 0.7, 0.9)``, checked as :func:`check_loads` does."""
    return check_loads([_parse(item, float, "load") for item in _items(text)])


def seeds_from_text(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` -> ``(0, 1, 2)``, checked as :func:`check_seeds` does."""
    return check_seeds([_parse(item, int, "seed") for item in _items(text)])


def load_text(load: float) -> str:
    """A load as people write it: ``1`` rather than ``1.0``, ``0.7`` rather than ``0.69999..``."""
    return str(int(load)) if float(load).is_integer() else repr(float(load))


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse(item: str, kind: Callable[[str], Number], what: str) -> Number:
    try:
        return kind(item)
    except ValueError:
        number = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{what} {item!r} is not {number}") from None


def _check_folder_name(what: str, name: str) -> None:
    if not name or name in {".", ".."} or any(sep in name for sep in "/\\"):
        raise ConfigError(f"{what} name {name!r} cannot name an output folder")
