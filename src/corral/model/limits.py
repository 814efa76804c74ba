"""The largest clusters, jobs and queue trees Corral models, shared by everything that reads them.

Each limit sits far above any real cluster or trace (the largest published trace cluster,
Alibaba openb, has 1,213 nodes and 6,212 GPUs; the longest job of the public traces runs some
months), and low enough that absurd input (a fuzzed trace cell, a typo of six extra zeros) ends
in one clear error naming the limit instead of exhausting memory or time. Readers check them
where a file or option is read, before building anything of that size.
"""

from __future__ import annotations

MAX_NODES = 100_000
"""Nodes in one cluster."""
MAX_GPUS = 1_000_000
"""GPUs in one cluster, all nodes together."""
MAX_NODE_CPU_CORES = 100_000
"""CPU cores one node may declare."""
MAX_NODE_MEMORY_GIB = 1_048_576
"""Memory one node may declare: 1 PiB."""

MAX_JOB_GPUS = MAX_GPUS
"""GPUs one job may ask for: no cluster Corral builds holds more."""
MAX_DURATION_S = 10 * 365 * 86_400
"""Longest job run time: 10 years (315,360,000 s)."""

MAX_QUEUES = 10_000
"""Queues in one hierarchy."""
MAX_QUEUE_DEPTH = 16
"""Levels of one queue hierarchy (a flat list of queues is 1)."""
MAX_QUEUE_WEIGHT = 1_000_000
"""Largest fair-share weight of a queue."""
