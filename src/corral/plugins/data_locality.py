"""DataLocality (Score): prefer nodes whose local data cache already holds the job's dataset.

A job placed where its dataset is cached reads its first epoch from node-local storage instead
of the shared file system, and keeps the hit ratio the cache earned for later epochs. SiloD
(Zhao et al., EuroSys'23, §3) shows that treating the data cache as a scheduled resource, and
placing jobs where their data is cached, shortens jobs whose input pipeline is I/O-bound; Quiver
(Kumar and Sivathanu, FAST'20, §4) shares cached datasets across the jobs that read them.

Score = 100 x the share of ``job.dataset`` the node holds (``ClusterState.cached``, filled from
``Node.datasets`` and by the backend as caches fill). Uniform, and so skipped, for a job that
names no dataset or whose dataset no node holds: it costs nothing then.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import MAX_SCORE, Score
from corral.model import Job
from corral.plugins import names


class DataLocality:
    """Higher where more of the job's dataset is cached."""

    name: ClassVar[str] = names.DATA_LOCALITY
    extension_points: ClassVar[tuple[str, ...]] = ("score",)

    def score(self, state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
              remaining: int) -> np.ndarray | float:
        """100 x cached share of the job's dataset on each node."""
        shares = state.cluster.cached.get(job.dataset) if job.dataset else None
        if shares is None:
            return MAX_SCORE
        return shares[nodes] * MAX_SCORE


_: Score = DataLocality()
