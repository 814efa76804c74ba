"""``--queues auto``: one queue per queue a trace names, guaranteed its share of the cluster.

Each queue's GPU guarantee is the cluster's GPUs times the queue's share of the trace's
GPU-time (GPUs x duration), to the milli-GPU, so the guarantees add up to at most the cluster
and each team is promised what it actually used. Queues may borrow any idle capacity; weights
are equal, so borrowers share idle GPUs by Dominant Resource Fairness alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from corral.model import GPU, MILLI, ConfigError, Job, Queue, QueueTree


def auto_queues(jobs: Sequence[Job], cluster_gpus: int) -> QueueTree:
    """Queues for *jobs* on a cluster of *cluster_gpus* GPUs."""
    work: dict[str, float] = defaultdict(float)
    for job in jobs:
        work[job.queue] += job.gpus * float(job.duration or 0.0)
    total = sum(work.values())
    if not work:
        raise ConfigError("--queues auto: the trace has no jobs to derive queues from")
    capacity = cluster_gpus * MILLI
    queues = [Queue(name, {GPU: int(capacity * share / total) if total else 0})
              for name, share in sorted(work.items())]
    return QueueTree(queues)
