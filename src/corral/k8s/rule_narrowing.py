"""The nodes left to pending pods by their rules about other pods, worked out before a cycle.

Pod affinity, anti-affinity and topology spread depend on the pods placed; the nodes they
leave are handed to the core as names. Replicas of one spec cost one evaluation a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence

from corral.k8s.node_eligibility import Eligibility, NodeEligibility
from corral.k8s.placed_pods import PlacedPods
from corral.k8s.pod_rules import PodRuleFilter
from corral.k8s.pods import PodRecord


class RuleNarrowing:
    """Eligible nodes less those pod rules rule out, memoised while neither the placed pods
    nor the nodes change."""

    def __init__(self) -> None:
        self._memo: dict[tuple, Eligibility] = {}
        self._memo_of: tuple[int, NodeEligibility] | None = None

    def narrowed(self, pods: Sequence[PodRecord], eligible: Eligibility,
                 eligibility: NodeEligibility, placed: PlacedPods) -> Eligibility:
        """*eligible* less the nodes the members' rules about other pods rule out, memoised
        per kind of member."""
        current = (placed.version, eligibility)
        if self._memo_of is None or self._memo_of[0] != current[0] or \
                self._memo_of[1] is not current[1]:
            self._memo.clear()
            self._memo_of = current
        kinds = {(p.namespace, tuple(sorted(p.labels.items())), p.rules, p.constraints): p
                 for p in pods}
        key = (eligible.nodes, *kinds)
        known = self._memo.get(key)
        if known is None:
            filters = [PodRuleFilter(p, eligibility, placed) for p in kinds.values()]
            known = self._memo[key] = eligibility.narrow(
                eligible, lambda info: next((w for f in filters if (w := f.why_not(info))), ""))
        return known


def per_node_cap(pods: Sequence[PodRecord], eligibility: NodeEligibility) -> int | None:
    """1 when members of a gang repel each other by a label unique to each node
    (``kubernetes.io/hostname`` anti-affinity among replicas), so the core keeps them on
    distinct nodes; None otherwise."""
    if len(pods) < 2:
        return None
    for pod in pods:
        for term in pod.rules.anti_affinity if pod.rules is not None else ():
            if eligibility.unique_per_node(term.topology_key) and \
                    any(term.matches(p.namespace, p.labels) for p in pods):
                return 1
    return None
