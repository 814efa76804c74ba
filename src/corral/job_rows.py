"""One row of ``corral jobs``, whether read live from the API server or from a history store.

Kept apart from both backends so the offline listing needs none of the Kubernetes packages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobRow:
    """One row of ``corral jobs``: the fields squeue users look for, in plain values."""

    job: str
    state: str
    reason: str
    age_s: float
    user: str
    queue: str
    gpus: float
    node: str
    gang: str = ""
    submitted: float = 0.0
