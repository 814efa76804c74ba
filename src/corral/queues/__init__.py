"""Where queue hierarchies come from: a TOML file, or derived from a trace (``auto``)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from corral.model import Job, QueueTree
from corral.queues.auto_queues import auto_queues
from corral.queues.toml_file import load_queue_file

AUTO = "auto"


def build_queues(spec: str | os.PathLike[str] | QueueTree | None, jobs: Sequence[Job],
                 cluster_gpus: int) -> QueueTree | None:
    """The queues *spec* names: None (no quotas), ``auto``, a TOML file, or a tree as is."""
    if spec is None or isinstance(spec, QueueTree):
        return spec
    if str(spec) == AUTO:
        return auto_queues(jobs, cluster_gpus)
    return load_queue_file(spec)


__all__ = ["AUTO", "auto_queues", "build_queues", "load_queue_file"]
