"""Topology spread constraints that must hold (``whenUnsatisfiable: DoNotSchedule``), with
kube-scheduler's PodTopologySpread filter semantics.

For each constraint, the pods its selector matches in the incoming pod's namespace (terminating
ones left out) are counted per domain of its topology key, over the nodes it counts: nodes with
the key that the pod's node selector and required node affinity take (``nodeAffinityPolicy:
Honor``, the default; ``Ignore`` counts every node) and, with ``nodeTaintsPolicy: Honor``, whose
taints the pod tolerates (the default ``Ignore`` does not look). A node qualifies when it has
the key and the pod placed there would leave its domain at most ``maxSkew`` above the emptiest
domain; with fewer domains than ``minDomains``, the emptiest counts as 0. ``ScheduleAnyway``
constraints only steer kube-scheduler's scoring: they are read for errors and otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from corral.k8s.label_selector import LabelSelector, selector_from_api
from corral.k8s.nodes import NodeInfo
from corral.k8s.placed_pods import PlacedPods
from corral.model import InvalidSpec
from corral.model.node_constraints import NodeConstraints

FIELD = "spec.topologySpreadConstraints"
SPREAD_MISMATCH = "node(s) didn't match pod topology spread constraints"
SPREAD_MISSING_LABEL = f"{SPREAD_MISMATCH} (missing required label)"
"""kube-scheduler's words, so messages read as users know them."""
POLICIES = ("Honor", "Ignore")


class SpreadConstraint(NamedTuple):
    max_skew: int
    topology_key: str
    selector: LabelSelector | None
    """None (no selector) matches no pod: every domain counts 0."""
    min_domains: int
    honour_affinity: bool
    honour_taints: bool


def spread_from_spec(spec: Mapping[str, Any], labels: Mapping[str, str]
                     ) -> tuple[SpreadConstraint, ...]:
    """A pod's DoNotSchedule constraints; InvalidSpec naming a malformed one (of either kind)."""
    raw = spec.get("topologySpreadConstraints") or ()
    if not isinstance(raw, list | tuple):
        raise InvalidSpec(f"{FIELD} must be a list")
    out = [c for i, item in enumerate(raw)
           if (c := _constraint(item, f"{FIELD}[{i}]", labels)) is not None]
    return tuple(dict.fromkeys(out))


def _constraint(raw: Any, where: str, labels: Mapping[str, str]) -> SpreadConstraint | None:
    if not isinstance(raw, Mapping):
        raise InvalidSpec(f"{where} must be a topology spread constraint")
    skew, key, when = raw.get("maxSkew"), raw.get("topologyKey"), raw.get("whenUnsatisfiable")
    if isinstance(skew, bool) or not isinstance(skew, int) or skew < 1:
        raise InvalidSpec(f"{where}.maxSkew must be an integer >= 1, got {skew!r}")
    if not isinstance(key, str) or not key:
        raise InvalidSpec(f"{where}.topologyKey must be a non-empty label key")
    if when not in ("DoNotSchedule", "ScheduleAnyway"):
        raise InvalidSpec(f"{where}.whenUnsatisfiable must be DoNotSchedule or ScheduleAnyway, "
                          f"got {when!r}")
    minimum = raw.get("minDomains")
    if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, int)
                                or minimum < 1):
        raise InvalidSpec(f"{where}.minDomains must be an integer >= 1, got {minimum!r}")
    policies = []
    for field, default in (("nodeAffinityPolicy", "Honor"), ("nodeTaintsPolicy", "Ignore")):
        value = raw.get(field) or default
        if value not in POLICIES:
            raise InvalidSpec(f"{where}.{field} must be Honor or Ignore, got {value!r}")
        policies.append(value == "Honor")
    selector = selector_from_api(raw.get("labelSelector"), f"{where}.labelSelector", labels,
                                 raw.get("matchLabelKeys"))
    if when == "ScheduleAnyway":
        return None
    return SpreadConstraint(skew, key, selector, minimum or 1, *policies)


def counted_domains(constraint: SpreadConstraint, constraints: NodeConstraints,
                    nodes: Iterable[NodeInfo]) -> dict[str, str]:
    """Node name -> domain, for the nodes *constraint* counts for a pod with node *constraints*."""
    key = constraint.topology_key
    out = {}
    for info in nodes:
        node = info.node
        value = node.labels.get(key)
        if value is None:
            continue
        if constraint.honour_affinity and not constraints.matches_node(node.name, node.labels):
            continue
        if constraint.honour_taints and constraints.untolerated(info.node.taints) is not None:
            continue
        out[node.name] = value
    return out


class SpreadCounts:
    """One constraint's matching pods per domain, as one incoming pod sees them."""

    def __init__(self, constraint: SpreadConstraint, namespace: str, labels: Mapping[str, str],
                 domains: Mapping[str, str], placed: PlacedPods) -> None:
        self.constraint = constraint
        counts = dict.fromkeys(domains.values(), 0)
        for pod in placed.matching(constraint.selector, frozenset({namespace})):
            domain = domains.get(pod.node)
            if domain is not None and not pod.deleting:
                counts[domain] += 1
        self.counts = counts
        floor = min(counts.values(), default=0)
        if len(counts) < constraint.min_domains:
            floor = 0
        own = constraint.selector is not None and constraint.selector.matches(labels)
        self.limit = floor + constraint.max_skew - own
        """The most matching pods a domain may hold for the pod to join it."""

    def why_not(self, node_labels: Mapping[str, str]) -> str:
        """Why the pod may not go to a node with *node_labels* under this constraint ('' if
        it may)."""
        domain = node_labels.get(self.constraint.topology_key)
        if domain is None:
            return SPREAD_MISSING_LABEL
        return SPREAD_MISMATCH if self.counts.get(domain, 0) > self.limit else ""
