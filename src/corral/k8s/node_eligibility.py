"""Each pending pod's eligible nodes, worked out once per kind of pod and set of nodes.

Thousands of pods of one job share a spec, so the answer is memoised by the pods' node
constraints; an instance holds one generation of nodes (the cluster cache makes a new one when
the nodes change), so a memo never outlives the nodes it was computed on. The answer is
:class:`Eligibility`: the node names for :attr:`~corral.model.Job.eligible_nodes` (None when
every usable node is eligible, so an unconstrained pod costs the core nothing) and, for the
nodes left out, kube-scheduler's reasons, counted per reason as its "0/12 nodes are available"
message does. For pods with rules about other pods, :meth:`NodeEligibility.narrow` takes a
further filter (:mod:`corral.k8s.pod_rules`), and the nodes' label facts those rules ask for
(spread domains, whether a label is unique per node) are memoised here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from corral.k8s.nodes import CORDONED, NodeInfo
from corral.k8s.topology_spread import SpreadConstraint, counted_domains
from corral.model.node_constraints import NodeConstraints

UNSCHEDULABLE_NODE = "node(s) were unschedulable"
NOT_READY_NODE = "node(s) were not ready"


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Where pods of some constraints may go, and why the other nodes are out."""

    nodes: frozenset[str] | None
    """Eligible usable nodes by name; None when every usable node is eligible."""
    count: int
    """Eligible usable nodes."""
    total: int
    """Every node the scheduler knows, usable or not (kube-scheduler's denominator)."""
    excluded: tuple[tuple[str, int], ...] = ()
    """(reason, nodes) for the nodes left out, most nodes first."""

    def message(self) -> str:
        """``0/12 nodes are available: 8 node(s) didn't match Pod's node affinity/selector,
        4 node(s) had untolerated taint {dedicated: infer}.`` (kube-scheduler's form) when
        none is eligible; otherwise how many are, and why the rest are not."""
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.excluded)
        if not self.count:
            return f"0/{self.total} nodes are available: {reasons}."
        return f"{self.count}/{self.total} nodes eligible ({reasons})"


class NodeEligibility:
    """Eligibility against one generation of nodes, memoised by the pods' constraints."""

    def __init__(self, nodes: Iterable[NodeInfo]) -> None:
        self._nodes = sorted(nodes, key=lambda i: i.node.name)
        self._by_name = {i.node.name: i for i in self._nodes}
        self._usable = sum(1 for i in self._nodes if i.schedulable)
        self._memo: dict[frozenset[NodeConstraints], Eligibility] = {}
        self._domains: dict[tuple[SpreadConstraint, NodeConstraints | None], dict[str, str]] = {}
        self._unique: dict[str, bool] = {}

    def labels_of(self, name: str) -> Mapping[str, str] | None:
        """The labels of node *name* (None for a node not known)."""
        info = self._by_name.get(name)
        return None if info is None else info.node.labels

    def counted_domains(self, constraint: SpreadConstraint,
                        constraints: NodeConstraints) -> Mapping[str, str]:
        """Node name -> domain for the nodes a spread *constraint* counts (every node the
        scheduler knows, usable or not, as kube-scheduler counts them), memoised."""
        honoured = constraints if constraint.honour_affinity or constraint.honour_taints \
            else None
        found = self._domains.get((constraint, honoured))
        if found is None:
            found = self._domains[constraint, honoured] = counted_domains(
                constraint, constraints, self._nodes)
        return found

    def unique_per_node(self, key: str) -> bool:
        """True when no two nodes share a value of label *key*: its domains are single nodes
        (``kubernetes.io/hostname``, or any label unique to each node)."""
        unique = self._unique.get(key)
        if unique is None:
            values = [v for i in self._nodes if (v := i.node.labels.get(key)) is not None]
            unique = self._unique[key] = len(values) == len(set(values))
        return unique

    def narrow(self, eligible: Eligibility, why_not: Callable[[NodeInfo], str]) -> Eligibility:
        """*eligible* less the nodes *why_not* gives a reason for, counted under it."""
        names = eligible.nodes
        kept: list[str] = []
        excluded = dict(eligible.excluded)
        for info in self._nodes:
            if not info.schedulable or (names is not None and info.node.name not in names):
                continue
            why = why_not(info)
            if why:
                excluded[why] = excluded.get(why, 0) + 1
            else:
                kept.append(info.node.name)
        if len(kept) == eligible.count:
            return eligible
        reasons = tuple(sorted(excluded.items(), key=lambda r: (-r[1], r[0])))
        return Eligibility(frozenset(kept), len(kept), eligible.total, reasons)

    def of(self, constraints: frozenset[NodeConstraints]) -> Eligibility:
        """Where a pod, or a gang whose members have these constraints, may go: a node must
        satisfy every member's (members normally share one spec)."""
        known = self._memo.get(constraints)
        if known is None:
            known = self._memo[constraints] = self._compute(constraints)
        return known

    def _compute(self, constraints: frozenset[NodeConstraints]) -> Eligibility:
        eligible: list[str] = []
        excluded: dict[str, int] = {}
        for info in self._nodes:
            if not info.schedulable:
                why = UNSCHEDULABLE_NODE if info.why_not == CORDONED else NOT_READY_NODE
            else:
                node = info.node
                why = next((w for c in constraints if (w := c.why_not(node))), "")
                if not why:
                    eligible.append(node.name)
                    continue
            excluded[why] = excluded.get(why, 0) + 1
        reasons = tuple(sorted(excluded.items(), key=lambda r: (-r[1], r[0])))
        names = None if len(eligible) == self._usable else frozenset(eligible)
        return Eligibility(names, len(eligible), len(self._nodes), reasons)
