"""Node selector, required node affinity and tolerations matched as kube-scheduler matches them."""

from __future__ import annotations

from typing import Any

import pytest
from k8s_builders import node

from corral.k8s.node_affinity import constraints_from_spec
from corral.k8s.node_eligibility import NodeEligibility
from corral.k8s.nodes import node_from_api
from corral.model import InvalidSpec, Node
from corral.model.node_constraints import DIDNT_MATCH, NO_CONSTRAINTS, Taint, Toleration

LABELS = {"zone": "a", "tier": "gold", "cores": "64", "odd": "x7"}


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    return out


def eligible(spec: dict[str, Any], name: str = "n1", labels: dict[str, str] = LABELS,
             taints: tuple[Taint, ...] = ()) -> bool:
    return constraints_from_spec(spec).why_not(Node(name, 8, labels=labels, taints=taints)) == ""


@pytest.mark.parametrize(("requirement", "expected"), [
    (expr("zone", "In", "a", "b"), True),
    (expr("zone", "In", "b"), False),
    (expr("missing", "In", "a"), False),
    (expr("zone", "NotIn", "b"), True),
    (expr("zone", "NotIn", "a"), False),
    (expr("missing", "NotIn", "a"), True),
    (expr("tier", "Exists"), True),
    (expr("missing", "Exists"), False),
    (expr("missing", "DoesNotExist"), True),
    (expr("tier", "DoesNotExist"), False),
    (expr("cores", "Gt", "32"), True),
    (expr("cores", "Gt", "64"), False),
    (expr("cores", "Lt", "+65"), True),
    (expr("cores", "Lt", "-1"), False),
    (expr("odd", "Gt", "1"), False),
    (expr("missing", "Lt", "100"), False),
], ids=["in", "in-other", "in-absent", "notin", "notin-same", "notin-absent", "exists",
        "exists-absent", "doesnotexist", "doesnotexist-present", "gt", "gt-equal", "lt-signed",
        "lt-negative", "gt-non-integer-label", "lt-absent"])
def test_each_operator_of_a_match_expression(requirement: dict, expected: bool) -> None:
    assert eligible(required({"matchExpressions": [requirement]})) is expected


def test_terms_are_ored_and_requirements_within_a_term_anded() -> None:
    both = {"matchExpressions": [expr("zone", "In", "a"), expr("tier", "In", "silver")]}
    assert not eligible(required(both))
    assert eligible(required(both, {"matchExpressions": [expr("tier", "In", "gold")]}))


def test_match_fields_select_by_node_name_and_an_empty_term_matches_nothing() -> None:
    by_name = required({"matchFields": [expr("metadata.name", "In", "n1", "n2")]})
    assert eligible(by_name, "n2") and not eligible(by_name, "n3")
    assert not eligible(required({"matchFields": [expr("metadata.name", "NotIn", "n1")]}))
    assert not eligible(required({}))
    assert not eligible(required())


def test_every_node_selector_label_must_match() -> None:
    assert eligible({"nodeSelector": {"zone": "a", "tier": "gold"}})
    assert not eligible({"nodeSelector": {"zone": "a", "tier": "silver"}})
    rules = constraints_from_spec({"nodeSelector": {"zone": "b"}})
    assert rules.why_not(Node("n1", 8, labels=LABELS)) == DIDNT_MATCH


@pytest.mark.parametrize(("toleration", "taint", "expected"), [
    (Toleration("k", "Equal", "v", "NoSchedule"), Taint("k", "v", "NoSchedule"), True),
    (Toleration("k", "", "v", ""), Taint("k", "v", "NoExecute"), True),
    (Toleration("k", "Equal", "w", "NoSchedule"), Taint("k", "v", "NoSchedule"), False),
    (Toleration("k", "Exists", "", "NoSchedule"), Taint("k", "any", "NoSchedule"), True),
    (Toleration("k", "Exists", "", "NoSchedule"), Taint("k", "v", "NoExecute"), False),
    (Toleration("", "Exists", "", ""), Taint("whatever", "v", "NoExecute"), True),
    (Toleration("other", "Exists", "", ""), Taint("k", "v", "NoSchedule"), False),
    (Toleration("k", "Like", "v", ""), Taint("k", "v", "NoSchedule"), False),
], ids=["equal", "default-operator-any-effect", "equal-other-value", "exists",
        "effect-differs", "empty-key-exists-tolerates-all", "other-key", "unknown-operator"])
def test_tolerations_match_taints_as_the_api_defines(toleration: Toleration, taint: Taint,
                                                     expected: bool) -> None:
    assert toleration.tolerates(taint) is expected


def test_an_untolerated_taint_is_named_and_checked_before_labels() -> None:
    taint = Taint("dedicated", "infer", "NoSchedule")
    spec = {"nodeSelector": {"zone": "b"}}
    assert constraints_from_spec(spec).why_not(Node("n1", 8, labels=LABELS, taints=(taint,))) == \
        "node(s) had untolerated taint {dedicated: infer}"
    tolerant = {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infer",
                                 "effect": "NoSchedule"}]}
    assert eligible(tolerant, taints=(taint,))
    assert not eligible({}, taints=(taint,))


@pytest.mark.parametrize(("requirement", "field", "problem"), [
    (expr("zone", "Like", "a"), "matchExpressions[0].operator", "unknown operator 'Like'"),
    (expr("cores", "Gt", "many"), "matchExpressions[0].values", "exactly one integer"),
    (expr("cores", "Lt", "1", "2"), "matchExpressions[0].values", "exactly one integer"),
    (expr("zone", "In"), "matchExpressions[0].values", "non-empty"),
    (expr("zone", "Exists", "a"), "matchExpressions[0].values", "must be empty"),
], ids=["unknown-operator", "gt-not-integer", "lt-two-values", "in-no-values",
        "exists-with-values"])
def test_a_malformed_affinity_is_an_error_naming_the_field(requirement: dict, field: str,
                                                          problem: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        constraints_from_spec(required({"matchExpressions": [requirement]}))
    text = str(caught.value)
    assert f"nodeSelectorTerms[0].{field}" in text and problem in text


def test_match_fields_accept_only_the_node_name() -> None:
    with pytest.raises(InvalidSpec, match=r"matchFields\[0\]\.key: .*metadata\.name"):
        constraints_from_spec(required({"matchFields": [expr("metadata.uid", "In", "x")]}))


def test_a_pod_without_constraints_shares_one_value() -> None:
    assert constraints_from_spec({"containers": []}) is NO_CONSTRAINTS
    one = constraints_from_spec({"nodeSelector": {"b": "2", "a": "1"}})
    assert one == constraints_from_spec({"nodeSelector": {"a": "1", "b": "2"}})
    assert hash(one) == hash(constraints_from_spec({"nodeSelector": {"a": "1", "b": "2"}}))


def _nodes() -> NodeEligibility:
    taint = {"taints": [{"key": "dedicated", "value": "infer", "effect": "NoSchedule"}]}
    objs = [node("a1", labels={"zone": "a"}), node("a2", labels={"zone": "a"}),
            node("t1", spec=taint), node("off", spec={"unschedulable": True})]
    return NodeEligibility(node_from_api(o) for o in objs)


def test_eligibility_counts_each_node_once_under_kube_schedulers_reasons() -> None:
    nodes = _nodes()
    nowhere = nodes.of(frozenset({constraints_from_spec({"nodeSelector": {"zone": "b"}})}))
    assert (nowhere.nodes, nowhere.count) == (frozenset(), 0)
    assert nowhere.message() == (
        "0/4 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {dedicated: infer}, 1 node(s) were unschedulable.")
    zone_a = nodes.of(frozenset({constraints_from_spec({"nodeSelector": {"zone": "a"}})}))
    assert zone_a.nodes == frozenset({"a1", "a2"})
    assert zone_a.message().startswith("2/4 nodes eligible (")


def test_every_usable_node_eligible_means_no_restriction_and_answers_are_memoised() -> None:
    nodes = _nodes()
    anything = frozenset({constraints_from_spec({"tolerations": [{"operator": "Exists"}]})})
    assert nodes.of(anything).nodes is None
    plain = frozenset({NO_CONSTRAINTS})
    assert nodes.of(plain).nodes == frozenset({"a1", "a2"})
    assert nodes.of(plain) is nodes.of(frozenset({NO_CONSTRAINTS}))


def test_gang_members_with_different_constraints_get_the_intersection() -> None:
    nodes = _nodes()
    members = frozenset({constraints_from_spec({"nodeSelector": {"zone": "a"}}),
                         constraints_from_spec(required(
                             {"matchFields": [expr("metadata.name", "In", "a2", "t1")]}))})
    assert nodes.of(members).nodes == frozenset({"a2"})
