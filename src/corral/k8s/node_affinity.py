"""A pod's node selector, required node affinity and tolerations, and a node's taints, read
from the API into the model's :mod:`corral.model.node_constraints` (whose semantics are
kube-scheduler's NodeAffinity and TaintToleration), so a pod lands where the default scheduler
would let it and the kubelet never refuses it for a selector it does not match.

A spec the API server should have refused (an unknown operator, Gt with a value that is not an
integer) is an :class:`~corral.model.InvalidSpec` naming the field, so the pod waits with that
reason instead of being placed by a guess. Preferred affinity is not read; inter-pod
(anti-)affinity and topology spread are :mod:`corral.k8s.pod_rules`'.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from corral.model import InvalidSpec
from corral.model.node_constraints import (
    FIELD_OPERATORS,
    HARD_EFFECTS,
    INTEGER,
    LABEL_OPERATORS,
    NO_CONSTRAINTS,
    NODE_NAME_FIELD,
    NodeConstraints,
    Requirement,
    Taint,
    Term,
    Toleration,
)

AFFINITY_PATH = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"


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
    if operator in ("Gt", "Lt") and (len(values) != 1 or not INTEGER.fullmatch(values[0])):
        raise InvalidSpec(f"{where}.values: operator {operator} needs exactly one integer, "
                          f"got {list(values)!r}")
    return Requirement(key, operator, tuple(values))
