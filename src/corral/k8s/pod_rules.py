"""A pod's rules about other pods (required pod affinity, anti-affinity, topology spread) and
the node filter they make, with kube-scheduler's reasons.

Most pods have none: they carry ``rules=None`` and cost nothing here, except the symmetric
check against anti-affinity terms that placed pods hold (none in most clusters, and then that
costs one test). The filter is evaluated against :class:`~corral.k8s.placed_pods.PlacedPods`
as it stands: when the cache builds a cycle's snapshot, and again for each placement the cycle
decides, after the placements before it were assumed (see :mod:`corral.k8s.cluster_cache`).
Checks run in kube-scheduler's order (PodTopologySpread, then InterPodAffinity: affinity,
anti-affinity, existing pods' anti-affinity), so a node counts once, under its first reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corral.k8s.placed_pods import PlacedPods
from corral.k8s.pod_affinity import (
    AFFINITY_MISMATCH,
    ANTI_AFFINITY_MISMATCH,
    EXISTING_ANTI_AFFINITY,
    AffinityTerm,
    domains_repelling,
    in_domains,
    repelled_domains,
    terms_from_spec,
    wanted_domains,
)
from corral.k8s.topology_spread import SpreadConstraint, SpreadCounts, spread_from_spec

if TYPE_CHECKING:
    from corral.k8s.node_eligibility import NodeEligibility
    from corral.k8s.nodes import NodeInfo
    from corral.k8s.pods import PodRecord


@dataclass(frozen=True, slots=True)
class PodRules:
    """Required inter-pod rules of one pod. Hashable: replicas of one spec share answers."""

    affinity: tuple[AffinityTerm, ...] = ()
    anti_affinity: tuple[AffinityTerm, ...] = ()
    spread: tuple[SpreadConstraint, ...] = ()


def rules_from_spec(spec: Mapping[str, Any], namespace: str,
                    labels: Mapping[str, str]) -> PodRules | None:
    """A pod's rules, None without any; InvalidSpec naming the field of a malformed one."""
    if not spec.get("affinity") and not spec.get("topologySpreadConstraints"):
        return None
    affinity, anti = terms_from_spec(spec, namespace, labels)
    spread = spread_from_spec(spec, labels)
    if not (affinity or anti or spread):
        return None
    return PodRules(affinity, anti, spread)


class PodRuleFilter:
    """Which nodes one pending pod may take given the placed pods now: everything that does not
    depend on the node is worked out once, so each node costs a few lookups."""

    def __init__(self, pod: PodRecord, nodes: NodeEligibility, placed: PlacedPods) -> None:
        rules = pod.rules or PodRules()
        labels_of = nodes.labels_of
        self._spread = [SpreadCounts(c, pod.namespace, pod.labels,
                                     nodes.counted_domains(c, pod.constraints), placed)
                        for c in rules.spread]
        self._keys = tuple(t.topology_key for t in rules.affinity)
        self._wanted: list[frozenset[str]] | None = None
        self._anyone = False
        if rules.affinity:
            self._wanted = wanted_domains(rules.affinity, placed, labels_of)
            # The first pod of a group that wants itself may go to any node with the keys.
            self._anyone = self._wanted is None and \
                all(t.matches(pod.namespace, pod.labels) for t in rules.affinity)
        self._repelled = repelled_domains(rules.anti_affinity, placed, labels_of)
        self._repelling = domains_repelling(pod.namespace, pod.labels, placed, labels_of) \
            if placed.anti_terms else {}

    def why_not(self, info: NodeInfo) -> str:
        """Why the pod may not go to *info*'s node ('' if it may)."""
        labels = info.node.labels
        for spread in self._spread:
            why = spread.why_not(labels)
            if why:
                return why
        if self._keys and not self._affinity_holds(labels):
            return AFFINITY_MISMATCH
        if self._repelled and in_domains(self._repelled, labels):
            return ANTI_AFFINITY_MISMATCH
        if self._repelling and in_domains(self._repelling, labels):
            return EXISTING_ANTI_AFFINITY
        return ""

    def _affinity_holds(self, labels: Mapping[str, str]) -> bool:
        if not all(k in labels for k in self._keys):
            return False
        if self._wanted is None:
            return self._anyone
        return all(labels[k] in values for k, values in zip(self._keys, self._wanted,
                                                              strict=True))


def needs_filter(pod: PodRecord, placed: PlacedPods) -> bool:
    """True when *pod*'s nodes depend on the placed pods: it has rules, or a placed pod's
    anti-affinity term matches it (then even a pod without rules may not go everywhere)."""
    return pod.rules is not None or \
        any(t.matches(pod.namespace, pod.labels) for t in placed.anti_terms)
