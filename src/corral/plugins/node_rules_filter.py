"""NodeRules (Filter): a job's node selector, required node affinity and tolerations.

kube-scheduler's NodeAffinity and TaintToleration filters, on the labels and taints of the
model's nodes (:mod:`corral.model.node_constraints`), so the simulator honours the same rules
the live scheduler does. Every policy runs it (the policy loader adds it, as kube-scheduler
enables these two plugins in every profile): a node rule is a promise to the job's owner,
not a policy choice.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from corral.core.cycle_state import CycleState
from corral.core.framework import Filter
from corral.model import Job
from corral.model.node_constraints import NO_CONSTRAINTS, NodeConstraints
from corral.plugins import names

MASKS_KEPT = 4096
"""Masks remembered per cluster state; a live cluster's pods bring few distinct rule sets, but a
long run could bring many."""


NO_RULES = (NO_CONSTRAINTS,)


class NodeRulesFilter:
    """Rules out the nodes a job's :attr:`~corral.model.Job.node_rules` do not take, and for
    every job the nodes with taints it does not tolerate."""

    name: ClassVar[str] = names.NODE_RULES
    extension_points: ClassVar[tuple[str, ...]] = ("filter",)

    def __init__(self) -> None:
        self._masks: dict[tuple[int, tuple[NodeConstraints, ...]], np.ndarray | None] = {}
        """(cluster state, rules) -> the nodes they take (None: every node)."""

    def filter(self, state: CycleState, job: Job) -> np.ndarray | None:
        """0 on nodes a rule rules out; elsewhere the gang's size (a limit that never binds).

        One evaluation per rule set and cluster state: the nodes' labels and taints are fixed
        for the state's life (a backend builds a new state when they change)."""
        cluster = state.cluster
        rules = job.node_rules or NO_RULES  # a job without rules still tolerates no taint
        key = (cluster.serial, rules)
        masks = self._masks
        if key in masks:
            mask = masks[key]
        else:
            if len(masks) >= MASKS_KEPT:
                masks.clear()
            found = np.fromiter((all(not rule.why_not(node) for rule in rules)
                                 for node in cluster.nodes), dtype=bool, count=len(cluster.nodes))
            found.flags.writeable = False
            mask = masks[key] = None if found.all() else found
        if mask is None:
            return None
        return mask if job.tasks == 1 else mask * np.int64(job.tasks)


_: Filter = NodeRulesFilter()
