"""Node rules a job carries: node selector, required node affinity and tolerations.

Plain data in the model, so the core can honour them in every cycle (the ``NodeRules`` filter,
:mod:`corral.plugins.node_rules_filter`), the simulator can replay jobs that carry them, and the
Kubernetes backend only converts pod specs into them. The semantics are kube-scheduler's
NodeAffinity and TaintToleration filter plugins (and ``k8s.io/api/core/v1``
``Toleration.ToleratesTaint``):

- every selector label must be on the node with that value;
- required node affinity terms are ORed, the requirements of one term ANDed; operators In,
  NotIn, Exists, DoesNotExist, Gt, Lt on labels, In and NotIn on the node's name;
  an empty term matches no node;
- a node's NoSchedule and NoExecute taints must each be tolerated (PreferNoSchedule only
  steers kube-scheduler's scoring, so it is ignored here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from corral.model.node import Node

HARD_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
"""Taint effects that keep a pod off a node unless it tolerates them."""
LABEL_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})
FIELD_OPERATORS = frozenset({"In", "NotIn"})
NODE_NAME_FIELD = "metadata.name"
"""The one field ``matchFields`` may name."""

DIDNT_MATCH = "node(s) didn't match Pod's node affinity/selector"
"""kube-scheduler's words (NodeAffinity's ErrReasonPod), so messages read as users know them."""

NO_SHARE_RESOURCE = "Insufficient corral.dev/gpu-share"
"""kube-scheduler's words for a node without the extended resource a pod requests."""

INTEGER = re.compile(r"[+-]?[0-9]+")
"""What Go's ``strconv.ParseInt(s, 10, 64)`` accepts (Python's int() also takes '1_0', ' 1')."""


class Taint(NamedTuple):
    key: str
    value: str
    effect: str


class Toleration(NamedTuple):
    key: str
    operator: str
    value: str
    effect: str

    def tolerates(self, taint: Taint) -> bool:
        """``Toleration.ToleratesTaint``: an empty effect matches every effect, an empty key
        (with Exists) every key; an unknown operator tolerates nothing."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator in ("", "Equal"):
            return self.value == taint.value
        return self.operator == "Exists"


class Requirement(NamedTuple):
    """One ``matchExpressions`` (or ``matchFields``) entry, checked when it was read."""

    key: str
    operator: str
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        operator = self.operator
        if operator == "In":
            return value is not None and value in self.values
        if operator == "NotIn":
            return value is None or value not in self.values
        if operator == "Exists":
            return value is not None
        if operator == "DoesNotExist":
            return value is None
        if value is None or not INTEGER.fullmatch(value):
            return False  # Gt / Lt on a label that is absent or not an integer
        if operator == "Gt":
            return int(value) > int(self.values[0])
        return int(value) < int(self.values[0])


class Term(NamedTuple):
    """One node selector term: all its requirements hold."""

    expressions: tuple[Requirement, ...]
    fields: tuple[Requirement, ...]

    def matches(self, name: str, labels: Mapping[str, str]) -> bool:
        if not self.expressions and not self.fields:
            return False  # "a null or empty node selector term matches no objects"
        node_fields = {NODE_NAME_FIELD: name}
        return all(r.matches(labels) for r in self.expressions) and \
            all(r.matches(node_fields) for r in self.fields)


@dataclass(frozen=True, slots=True)
class NodeConstraints:
    """What restricts a job's nodes. Hashable, so jobs with equal specs share one answer."""

    selector: tuple[tuple[str, str], ...] = ()
    terms: tuple[Term, ...] | None = None
    """The required node affinity's terms (None: the pod has none)."""
    tolerations: tuple[Toleration, ...] = ()
    gpu_share: bool = False
    """The job takes a share of one GPU: only a node whose agent advertises the share resource
    enforces it (MPS limits), so no other node may take it, whatever its free capacity."""

    def why_not(self, node: Node) -> str:
        """Why *node* may not take the job, in kube-scheduler's words ('' if it may).

        Taints are checked before labels, as kube-scheduler's filters run, so each node
        counts once, under its first reason; a node that cannot enforce a GPU share comes
        first of all (kube-scheduler's resource fit runs before either).
        """
        if self.gpu_share and not node.shares_gpus:
            return NO_SHARE_RESOURCE
        taint = self.untolerated(node.taints)
        if taint is not None:
            return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"
        return "" if self.matches_node(node.name, node.labels) else DIDNT_MATCH

    def untolerated(self, taints: Iterable[Taint]) -> Taint | None:
        """The first of *taints* the pod does not tolerate (None: it tolerates them all)."""
        return next((taint for taint in taints
                     if not any(t.tolerates(taint) for t in self.tolerations)), None)

    def matches_node(self, name: str, labels: Mapping[str, str]) -> bool:
        """True when the node selector and the required node affinity both take the node."""
        if any(labels.get(k) != v for k, v in self.selector):
            return False
        return self.terms is None or any(t.matches(name, labels) for t in self.terms)


NO_CONSTRAINTS = NodeConstraints()
