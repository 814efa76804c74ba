"""Which nodes a pod may go to: its node selector, required node affinity and tolerations.

The semantics are kube-scheduler's NodeAffinity and TaintToleration filter plugins (and
``k8s.io/api/core/v1`` ``Toleration.ToleratesTaint``), so a pod lands where the default
scheduler would let it and the kubelet never refuses it for a selector it does not match:

- every ``nodeSelector`` label must be on the node with that value;
- ``requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`` are ORed, the
  requirements of one term ANDed; operators In, NotIn, Exists, DoesNotExist, Gt, Lt on labels,
  In and NotIn on the field ``metadata.name``; an empty term matches no node;
- a node's NoSchedule and NoExecute taints must each be tolerated (PreferNoSchedule only
  steers kube-scheduler's scoring, so it is ignored here).

A spec the API server should have refused (an unknown operator, Gt with a value that is not an
integer) is an :class:`~corral.model.InvalidSpec` naming the field, so the pod waits with that
reason instead of being placed by a guess. Preferred affinity is not read; inter-pod
(anti-)affinity and topology spread are :mod:`corral.k8s.pod_rules`'.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from corral.model import InvalidSpec

HARD_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
"""Taint effects that keep a pod off a node unless it tolerates them."""
LABEL_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})
FIELD_OPERATORS = frozenset({"In", "NotIn"})
NODE_NAME_FIELD = "metadata.name"
"""The one field ``matchFields`` may name."""
AFFINITY_PATH = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"

DIDNT_MATCH = "node(s) didn't match Pod's node affinity/selector"
"""kube-scheduler's words (NodeAffinity's ErrReasonPod), so messages read as users know them."""

NO_SHARE_RESOURCE = "Insufficient corral.dev/gpu-share"
"""kube-scheduler's words for a node without the extended resource a pod requests."""

_INTEGER = re.compile(r"[+-]?[0-9]+")
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
        if value is None or not _INTEGER.fullmatch(value):
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
    """What restricts a pod's nodes. Hashable, so pods with equal specs share one answer."""

    selector: tuple[tuple[str, str], ...] = ()
    terms: tuple[Term, ...] | None = None
    """The required node affinity's terms (None: the pod has none)."""
    tolerations: tuple[Toleration, ...] = ()
    gpu_share: bool = False
    """The pod takes a share of one GPU: only a node whose agent advertises the share resource
    enforces it (MPS limits), so no other node may take it, whatever its free capacity."""

    def why_not(self, name: str, labels: Mapping[str, str], taints: Iterable[Taint],
                shares_gpus: bool = True) -> str:
        """Why the node may not take the pod, in kube-scheduler's words ('' if it may).

        Taints are checked before labels, as kube-scheduler's filters run, so each node
        counts once, under its first reason; a node that cannot enforce a GPU share comes
        first of all (kube-scheduler's resource fit runs before either).
        """
        if self.gpu_share and not shares_gpus:
            return NO_SHARE_RESOURCE
        taint = self.untolerated(taints)
        if taint is not None:
            return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"
        return "" if self.matches_node(name, labels) else DIDNT_MATCH

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


def constraints_from_spec(spec: Mapping[str, Any]) -> NodeConstraints:
    """A pod spec's node constraints; InvalidSpec naming the field of a malformed affinity."""
    selector = spec.get("nodeSelector") or {}
    if not isinstance(selector, Mapping):
        raise InvalidSpec("spec.nodeSelector must be a map of labels")
    tolerations = tuple(_toleration(t) for t in spec.get("tolerations") or ()
                        if isinstance(t, Mapping))
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    terms = None
    if required is not None:
        raw_terms = required.get("nodeSelectorTerms") or () if isinstance(required, Mapping) \
            else None
        if raw_terms is None or not isinstance(raw_terms, list | tuple):
            raise InvalidSpec(f"{AFFINITY_PATH}.nodeSelectorTerms must be a list")
        terms = tuple(_term(t, f"{AFFINITY_PATH}.nodeSelectorTerms[{i}]")
                      for i, t in enumerate(raw_terms))
    if not selector and terms is None and not tolerations:
        return NO_CONSTRAINTS
    return NodeConstraints(tuple(sorted((str(k), str(v)) for k, v in selector.items())), terms,
                           tolerations)


def node_taints(spec: Mapping[str, Any], tolerated: Collection[str]) -> tuple[Taint, ...]:
    """A node's NoSchedule / NoExecute taints, less those whose key every pod of Corral's is
    taken to tolerate (*tolerated*)."""
    return tuple(Taint(str(t.get("key") or ""), str(t.get("value") or ""), t["effect"])
                 for t in spec.get("taints") or ()
                 if isinstance(t, Mapping) and t.get("effect") in HARD_EFFECTS
                 and t.get("key") not in tolerated)


def _toleration(raw: Mapping[str, Any]) -> Toleration:
    return Toleration(str(raw.get("key") or ""), str(raw.get("operator") or ""),
                      str(raw.get("value") or ""), str(raw.get("effect") or ""))


def _term(raw: Any, where: str) -> Term:
    if not isinstance(raw, Mapping):
        raise InvalidSpec(f"{where} must be a node selector term (matchExpressions, matchFields)")
    return Term(requirements_from_api(raw.get("matchExpressions"), f"{where}.matchExpressions",
                                      LABEL_OPERATORS),
                requirements_from_api(raw.get("matchFields"), f"{where}.matchFields",
                                      FIELD_OPERATORS, fields=True))


def requirements_from_api(raw: Any, where: str, allowed: frozenset[str], *,
                          fields: bool = False) -> tuple[Requirement, ...]:
    """A list of requirements (``matchExpressions``) with operators from *allowed*;
    InvalidSpec naming the entry the API server would have refused."""
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise InvalidSpec(f"{where} must be a list")
    return tuple(_requirement(r, f"{where}[{i}]", allowed, fields) for i, r in enumerate(raw))


def _requirement(raw: Any, where: str, allowed: frozenset[str], field: bool) -> Requirement:
    """One requirement, checked as the API server validates it."""
    if not isinstance(raw, Mapping):
        raise InvalidSpec(f"{where} must have key, operator and values")
    key, operator, values = raw.get("key"), raw.get("operator"), raw.get("values") or []
    if not isinstance(key, str) or not key:
        raise InvalidSpec(f"{where}.key must be a non-empty string")
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise InvalidSpec(f"{where}.values must be a list of strings")
    if operator not in allowed:
        raise InvalidSpec(f"{where}.operator: unknown operator {operator!r}; "
                          f"one of {', '.join(sorted(allowed))}")
    if field and key != NODE_NAME_FIELD:
        raise InvalidSpec(f"{where}.key: matchFields supports only {NODE_NAME_FIELD}, "
                          f"not {key!r}")
    if operator in ("In", "NotIn") and not values:
        raise InvalidSpec(f"{where}.values: must be non-empty for operator {operator}")
    if operator in ("Exists", "DoesNotExist") and values:
        raise InvalidSpec(f"{where}.values: must be empty for operator {operator}")
    if operator in ("Gt", "Lt") and (len(values) != 1 or not _INTEGER.fullmatch(values[0])):
        raise InvalidSpec(f"{where}.values: operator {operator} needs exactly one integer, "
                          f"got {list(values)!r}")
    return Requirement(key, operator, tuple(values))
