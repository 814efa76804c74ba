"""Label selectors, as pod affinity terms and topology spread constraints use them to pick pods.

``matchLabels`` and ``matchExpressions`` (In, NotIn, Exists, DoesNotExist) are ANDed. An empty
selector (``{}``) matches every pod; an absent one matches none (the API's nil selector), so a
term without a selector never counts a pod. ``matchLabelKeys`` and ``mismatchLabelKeys`` name
labels of the incoming pod whose values join the selector (In and NotIn); keys the pod lacks
are skipped, as the API documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from corral.k8s.node_affinity import requirements_from_api
from corral.model import InvalidSpec
from corral.model.node_constraints import Requirement

SELECTOR_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


class LabelSelector(NamedTuple):
    """All of *requirements* hold (none: every pod matches). Sorted, so equal selectors are
    equal values and pods of one spec share one answer."""

    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def selector_from_api(raw: Any, where: str, pod_labels: Mapping[str, str],
                      match_keys: Any = None, mismatch_keys: Any = None) -> LabelSelector | None:
    """A selector (None for an absent one, which matches nothing); InvalidSpec naming the
    field the API server would have refused."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidSpec(f"{where} must be a label selector (matchLabels, matchExpressions)")
    match_labels = raw.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping) or \
            not all(isinstance(v, str) for v in match_labels.values()):
        raise InvalidSpec(f"{where}.matchLabels must be a map of label values")
    requirements = [Requirement(str(k), "In", (v,)) for k, v in match_labels.items()]
    requirements += requirements_from_api(raw.get("matchExpressions"),
                                          f"{where}.matchExpressions", SELECTOR_OPERATORS)
    for operator, keys, field in (("In", match_keys, "matchLabelKeys"),
                                  ("NotIn", mismatch_keys, "mismatchLabelKeys")):
        for key in _keys(keys, f"{where.rsplit('.', 1)[0]}.{field}"):
            if key in pod_labels:
                requirements.append(Requirement(key, operator, (pod_labels[key],)))
    return LabelSelector(tuple(sorted(set(requirements))))


def _keys(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple) or not all(isinstance(k, str) and k for k in raw):
        raise InvalidSpec(f"{where} must be a list of label keys")
    return tuple(raw)
