"""``--queues auto``: one queue per queue a trace names, guaranteed its share of the cluster.

Each queue's GPU guarantee is the cluster's GPUs times the queue's share of the trace's
GPU-time (GPUs x duration), in whole GPUs as an administrator would set it (largest remainders
round up, so the guarantees add up to the cluster exactly), and each team is promised what it
actually used. Queues may borrow any idle capacity; weights are equal, so borrowers share idle
GPUs by Dominant Resource Fairness alone.
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
    names = sorted(work)
    exact = [cluster_gpus * work[name] / total if total else 0.0 for name in names]
    whole = [int(x) for x in exact]
    by_remainder = sorted(range(len(names)), key=lambda i: (whole[i] - exact[i], names[i]))
    for i in by_remainder[: cluster_gpus - sum(whole) if total else 0]:
        whole[i] += 1
    return QueueTree([Queue(name, {GPU: gpus * MILLI})
                      for name, gpus in zip(names, whole, strict=True)])
