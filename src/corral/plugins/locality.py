"""Locality (Score + Permit): fewer nodes per gang is better.

A gang spread over more servers than it needs pays for it in every all-reduce (Tiresias,
NSDI'19, §2 and §5 on consolidation; Gandiva's locality). As a score it prefers nodes that hold
more of the gang's remaining tasks, which, picked greedily, gives the fewest nodes. As a permit
it can refuse placements that use more than ``max_extra_nodes`` nodes beyond the fewest the
gang could use on this cluster (0 = strict consolidation, as the Helios simulator places).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import MAX_SCORE, NodeLimit, Permit, Score
from corral.core.status import OK, Status, unschedulable
from corral.model import Job
from corral.model.limits import MAX_NODES
from corral.plugins import names
from corral.plugins.arg_checks import whole


@dataclass(frozen=True, slots=True)
class LocalityArgs:
    """``max_extra_nodes``: nodes a gang may use beyond its minimum; None = no limit."""

    max_extra_nodes: int | None = None

    def validate(self) -> None:
        """An integer from 0 to the most nodes a cluster has, or absent."""
        whole("Locality.max_extra_nodes", self.max_extra_nodes, low=0, high=MAX_NODES,
              optional=True)


class Locality:
    """Prefers nodes that take more of the gang; optionally caps the nodes a gang may span."""

    name: ClassVar[str] = names.LOCALITY
    extension_points: ClassVar[tuple[str, ...]] = ("score", "permit")
    # It also implements NodeLimit, which the core asks every Permit plugin for.
    Args = LocalityArgs

    def __init__(self, args: LocalityArgs | None = None) -> None:
        self.args = args or LocalityArgs()

    def score(self, state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
              remaining: int) -> np.ndarray | float:
        """100 x share of the remaining tasks the node can take (uniform for one task)."""
        if remaining == 1:
            return MAX_SCORE
        return np.minimum(fit, remaining) * (MAX_SCORE / remaining)

    def node_limit(self, state: CycleState, job: Job) -> int | None:
        """The gang's fewest possible nodes plus ``max_extra_nodes`` (None: no limit)."""
        extra = self.args.max_extra_nodes
        return None if extra is None else state.cluster.min_nodes(job) + extra

    def permit(self, state: CycleState, job: Job, chosen: Sequence[tuple[int, int]]) -> Status:
        """Refuse a gang spread over more nodes than its minimum plus the allowed extra."""
        if len(chosen) == 1:
            return OK
        allowed = self.node_limit(state, job)
        if allowed is not None and len(chosen) > allowed:
            return unschedulable(self.name, f"would span {len(chosen)} nodes; at most {allowed} "
                                 "allowed (consolidated placement)")
        return OK


_score: Score = Locality()
_permit: Permit = Locality()
_limit: NodeLimit = Locality()
