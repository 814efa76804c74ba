"""What the cluster runs now: the jobs pending and running, and each node's GPUs.

Two sources give it: :class:`~corral.dashboard.replay.ReplayedCluster` (a simulated run
replayed on the wall clock, for ``--demo``) and
:class:`~corral.dashboard.live_cluster.LiveCluster` (the API server and the scheduler).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from corral.dashboard.api_models import JobRow, NodeRow


class ClusterView(Protocol):
    async def jobs(self) -> list[JobRow]:
        """The jobs pending or running now."""

    async def nodes(self) -> list[NodeRow]:
        """Every node with its GPUs' allocation."""


def fill_gpus(node: str, gpu_type: str, gpus: int, held: Sequence[float],
              schedulable: bool = True, unhealthy: Iterable[int] = (),
              utilisation: Mapping[int, float] | None = None) -> NodeRow:
    """A node row from the GPU amounts its jobs hold, laid first-fit on its GPUs (shares of
    one GPU fill one GPU before the next), where nothing finer says which GPU each holds;
    *utilisation* by GPU index where it was measured."""
    allocated = [0.0] * gpus
    for amount in sorted(held, reverse=True):
        left = amount
        for index in range(gpus):
            if left <= 1e-9:
                break
            take = min(1.0 - allocated[index], left)
            if take > 1e-9:
                allocated[index] += take
                left -= take
    allocated = [round(share, 3) for share in allocated]
    return NodeRow(name=node, gpu_type=gpu_type, gpus=gpus, allocated=allocated,
                   utilisation=[(utilisation or {}).get(index) for index in range(gpus)],
                   unhealthy=sorted(index for index in unhealthy if index < gpus),
                   schedulable=schedulable,
                   fragmented_gpus=round(sum(1.0 - a for a in allocated if 0 < a < 1), 3))
