"""Dispatch policies: which cluster a newly submitted job goes to.

A policy sees, per cluster, only what a live dispatcher can watch (free GPUs, the backlog of
pending GPU demand, a mean run time of jobs finished there, price, whether its data cache holds
the job's data) and never a job's true duration. Each is one function from the job's home and
those views to a cluster name; the home cluster wins ties, so a policy moves a job only for a
strict gain.

- ``home``: every job stays where it was submitted (the trace as recorded).
- ``least-loaded``: the most free GPUs of the kinds the job may use, net of the backlog
  (Armada's and MultiKueue's "where is capacity now").
- ``predicted-wait``: the shortest predicted wait plus the cross-cluster delay.
- ``data-locality``: as predicted-wait, plus the data-transfer time wherever the cluster's
  training-data cache lacks the job's data.
- ``cost``: the cheapest GPUs whose predicted wait (with delay and transfer) stays within
  ``spill_after_s``; the fastest start when none does.
- ``home-spill``: home unless its predicted wait exceeds ``spill_after_s``; then wherever the
  job starts soonest, delay and transfer counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from corral.model import ConfigError

if TYPE_CHECKING:
    from corral.multicluster.cluster_set import DispatchSettings

DEFAULT_RUN_S = 3600.0
"""Mean run time assumed for a cluster until a job has finished there."""


@dataclass(frozen=True)
class ClusterView:
    """What a dispatcher can see of one cluster at one instant, for one job."""

    name: str
    gpus: int
    free_gpus: int
    """Free whole GPUs of the types the job may use."""
    queued_gpus: float
    """GPUs its pending jobs ask for."""
    mean_run_s: float
    gpu_cost: float
    holds_data: bool
    """Its data cache (or, at home, its storage) holds the job's training data."""

    def predicted_wait(self, gpus: float) -> float:
        """Seconds until *gpus* more GPUs start, if the backlog goes first: the GPUs to be freed
        beyond what is free, at a cluster's turnover of ``gpus`` per mean run time."""
        short = gpus + self.queued_gpus - self.free_gpus
        return max(0.0, short) * self.mean_run_s / self.gpus


Policy = Callable[[float, str, Sequence[ClusterView], "DispatchSettings"], str]
"""(GPUs the job needs, its home, views of the clusters it fits, settings) -> a cluster."""


def _move_cost(view: ClusterView, home: str, settings: DispatchSettings, *,
               data: bool) -> float:
    if view.name == home:
        return 0.0
    transfer = settings.transfer_s() if data and not view.holds_data else 0.0
    return settings.delay_s + transfer


def _best(views: Sequence[ClusterView], home: str, key: Callable[[ClusterView], float]) -> str:
    """The view with the smallest *key*, home first among equals, then file order."""
    ranked = sorted(views, key=lambda v: (key(v), v.name != home))
    return ranked[0].name


def home(gpus: float, home: str, views: Sequence[ClusterView],
         settings: DispatchSettings) -> str:
    return home


def least_loaded(gpus: float, home: str, views: Sequence[ClusterView],
                 settings: DispatchSettings) -> str:
    return _best(views, home, lambda v: v.queued_gpus - v.free_gpus)


def predicted_wait(gpus: float, home: str, views: Sequence[ClusterView],
                   settings: DispatchSettings) -> str:
    return _best(views, home, lambda v: v.predicted_wait(gpus)
                 + _move_cost(v, home, settings, data=False))


def data_locality(gpus: float, home: str, views: Sequence[ClusterView],
                  settings: DispatchSettings) -> str:
    return _best(views, home, lambda v: v.predicted_wait(gpus)
                 + _move_cost(v, home, settings, data=True))


def cost(gpus: float, home: str, views: Sequence[ClusterView],
         settings: DispatchSettings) -> str:
    def start(v: ClusterView) -> float:
        return v.predicted_wait(gpus) + _move_cost(v, home, settings, data=True)

    soon = [v for v in views if start(v) <= settings.spill_after_s]
    if not soon:
        return _best(views, home, start)
    return _best(soon, home, lambda v: v.gpu_cost)


def home_spill(gpus: float, home: str, views: Sequence[ClusterView],
               settings: DispatchSettings) -> str:
    mine = [v for v in views if v.name == home]
    if mine and mine[0].predicted_wait(gpus) <= settings.spill_after_s:
        return home
    return data_locality(gpus, home, views, settings)


POLICIES: dict[str, Policy] = {
    "home": home,
    "least-loaded": least_loaded,
    "predicted-wait": predicted_wait,
    "data-locality": data_locality,
    "cost": cost,
    "home-spill": home_spill,
}


def dispatch_policy(name: str) -> Policy:
    """The dispatch policy called *name*, or an error listing the known ones."""
    try:
        return POLICIES[name]
    except KeyError:
        raise ConfigError(f"unknown dispatch policy {name!r}; known: "
                          f"{', '.join(POLICIES)}") from None
