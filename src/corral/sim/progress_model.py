"""How fast a placed job progresses, relative to the speed its trace duration was measured at.

speed = (slowest GPU type among its nodes, relative to the reference type)
        x (speed-up of the workers placed / speed-up of the workers asked for)
        / (1 + spread_slowdown x nodes beyond the fewest it could use)
        / (1 + share_slowdown x other jobs on the GPUs it shares)

Synchronous data-parallel training moves at the pace of its slowest worker, hence the minimum
over GPU types; the spread and sharing terms are the simplest monotone models of communication
and interference costs, each a documented, overridable parameter (:class:`SimConfig`). The
worker term applies to elastic gangs placed at another size than their trace's
(:mod:`corral.core.worker_scaling`); it is 1 for every other job.
"""

from __future__ import annotations

from corral.core.cluster_state import ClusterState
from corral.core.placement import Placement
from corral.model import Job
from corral.sim.config import SimConfig


class ProgressModel:
    """Speed factors for placements on one cluster under one :class:`SimConfig`."""

    def __init__(self, config: SimConfig, cluster: ClusterState) -> None:
        """Also publishes the speed table in *cluster*, so that policies see the very speeds
        jobs will run at."""
        self.config = config
        self.cluster = cluster
        cluster.set_gpu_speeds({t: config.speed_of(t) for t in cluster.gpu_types})
        cluster.scaling = config.scaling
        self._type_speed = cluster.node_speed.tolist()

    def base_speed(self, job: Job, placement: Placement) -> float:
        """Speed from GPU types, worker count and spread (sharing is added by
        :meth:`with_sharing`); *job* at the size it asked for."""
        grants = placement.grants
        workers = 1.0
        placed = placement.tasks if job.is_elastic else job.tasks
        if placed != job.tasks:
            workers = self.cluster.scaling.relative(job.tasks, placed)
            job = job.with_tasks(placed)
        if len(grants) == 1:
            return self._type_speed[grants[0].node] * workers
        speed = min(self._type_speed[g.node] for g in grants) * workers
        extra = len(grants) - self.cluster.min_nodes(job)
        if extra > 0:
            speed /= 1.0 + self.config.spread_slowdown * extra
        return speed

    def with_sharing(self, base: float, co_tenants: int) -> float:
        """*base* speed slowed by *co_tenants* other jobs sharing its GPUs."""
        if co_tenants <= 0:
            return base
        return base / (1.0 + self.config.share_slowdown * co_tenants)
