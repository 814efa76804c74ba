"""Pod affinity, anti-affinity and topology spread on hand-built nodes and placed pods, where
the right nodes are obvious: label selectors, namespaces, the first pod of a self-affine group,
the symmetric anti-affinity rule, skew counting, and the errors a malformed spec gives."""

from __future__ import annotations

from typing import Any

import pytest
from k8s_builders import node, pod

from corral.k8s.label_selector import selector_from_api
from corral.k8s.node_eligibility import NodeEligibility
from corral.k8s.nodes import NodeInfo, node_from_api
from corral.k8s.placed_pods import PlacedPod, PlacedPods
from corral.k8s.pod_rules import PodRuleFilter, needs_filter, rules_from_spec
from corral.k8s.pods import PodRecord, pod_from_api
from corral.model import InvalidSpec

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


class _Nodes(NodeEligibility):
    """Nodes n0, n1, ... in the given zones ('' for a node without a zone label)."""

    def __init__(self, *zones: str) -> None:
        self.infos: list[NodeInfo] = [
            node_from_api(node(f"n{i}", labels={HOST: f"n{i}", **({ZONE: z} if z else {})}))
            for i, z in enumerate(zones)]
        super().__init__(self.infos)


def _pod(name: str, labels: dict[str, str] | None = None, *, namespace: str = "default",
         **spec: Any) -> PodRecord:
    return pod_from_api(pod(name, labels=labels, namespace=namespace, spec=spec))


def _term(key: str = HOST, **labels: str) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key}


def _affinity(kind: str, *terms: dict[str, Any]) -> dict[str, Any]:
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def _place(placed: PlacedPods, record: PodRecord, node_name: str) -> None:
    anti = record.rules.anti_affinity if record.rules is not None else ()
    placed.put(PlacedPod(record.key, record.namespace, record.labels, node_name, False, anti))


def _allowed(record: PodRecord, nodes: _Nodes, placed: PlacedPods) -> dict[str, str]:
    """Node -> why the pod may not go there ('' where it may)."""
    rule = PodRuleFilter(record, nodes, placed)
    return {info.node.name: rule.why_not(info) for info in nodes.infos}


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ({}, {"app": "x"}, True),
    ({"matchLabels": {"app": "x"}}, {"app": "x", "tier": "1"}, True),
    ({"matchLabels": {"app": "x"}}, {"app": "y"}, False),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["x", "y"]}]},
     {"app": "y"}, True),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]}, {}, True),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {"tier": "1"}, False),
    ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {"tier": "1"}, True),
], ids=["empty-matches-all", "match-labels", "match-labels-differ", "in", "notin-absent",
        "exists", "does-not-exist"])
def test_label_selectors_match_as_the_api_defines(selector, labels, expected) -> None:
    parsed = selector_from_api(selector, "s", {})
    assert parsed is not None and parsed.matches(labels) is expected


def test_an_absent_selector_matches_nothing_and_match_label_keys_take_the_pods_values() -> None:
    assert selector_from_api(None, "s", {}) is None
    with_keys = selector_from_api({}, "s", {"rev": "7"}, ["rev", "missing"])
    assert with_keys is not None and with_keys.matches({"rev": "7"})
    assert not with_keys.matches({"rev": "8"})


def test_terms_default_to_the_pods_namespace_and_an_empty_namespace_selector_means_all() -> None:
    own = rules_from_spec({"affinity": _affinity("podAffinity", _term(app="x"))}, "ml", {})
    assert own is not None and own.affinity[0].matches("ml", {"app": "x"})
    assert not own.affinity[0].matches("web", {"app": "x"})
    listed = {**_term(app="x"), "namespaces": ["web"]}
    [term] = rules_from_spec({"affinity": _affinity("podAffinity", listed)}, "ml", {}).affinity
    assert term.matches("web", {"app": "x"}) and not term.matches("ml", {"app": "x"})
    every = {**_term(app="x"), "namespaceSelector": {}}
    [term] = rules_from_spec({"affinity": _affinity("podAntiAffinity", every)}, "ml",
                             {}).anti_affinity
    assert term.matches("anywhere", {"app": "x"})


PREFIX = "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"


@pytest.mark.parametrize(("spec", "field"), [
    ({"affinity": _affinity("podAntiAffinity", {**_term(app="x"),
                                                "namespaceSelector": {"matchLabels": {"a": "b"}}})},
     f"{PREFIX}.namespaceSelector"),
    ({"affinity": _affinity("podAntiAffinity", {"labelSelector": {}})}, f"{PREFIX}.topologyKey"),
    ({"affinity": _affinity("podAntiAffinity", {
        "topologyKey": HOST, "labelSelector": {"matchExpressions": [
            {"key": "a", "operator": "Gt", "values": ["1"]}]}})},
     f"{PREFIX}.labelSelector.matchExpressions[0].operator"),
    ({"topologySpreadConstraints": [{"maxSkew": 0, "topologyKey": ZONE,
                                     "whenUnsatisfiable": "DoNotSchedule"}]},
     "spec.topologySpreadConstraints[0].maxSkew"),
    ({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": ZONE,
                                     "whenUnsatisfiable": "Sometimes"}]},
     "spec.topologySpreadConstraints[0].whenUnsatisfiable"),
], ids=["namespace-selector", "no-topology-key", "gt-in-label-selector", "zero-skew",
        "unknown-when"])
def test_a_malformed_rule_is_an_error_naming_the_field(spec, field) -> None:
    with pytest.raises(InvalidSpec, match=field.replace("[", r"\[").replace("]", r"\]")):
        rules_from_spec(spec, "default", {})
    assert field in _pod("p", **spec).error


def test_pods_without_rules_carry_none_and_schedule_anyway_is_not_a_rule() -> None:
    assert _pod("plain").rules is None
    anyway = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway",
               "labelSelector": {}}]
    assert _pod("soft", topologySpreadConstraints=anyway).rules is None
    assert not needs_filter(_pod("plain"), PlacedPods())


def test_anti_affinity_keeps_a_pod_off_every_node_of_a_matching_pods_domain() -> None:
    nodes, placed = _Nodes("a", "a", "b"), PlacedPods()
    _place(placed, _pod("web-0", {"app": "web"}), "n0")
    by_host = _pod("web-1", {"app": "web"}, affinity=_affinity("podAntiAffinity",
                                                               _term(app="web")))
    assert _allowed(by_host, nodes, placed) == {
        "n0": "node(s) didn't match pod anti-affinity rules", "n1": "", "n2": ""}
    by_zone = _pod("web-2", {"app": "web"}, affinity=_affinity("podAntiAffinity",
                                                               _term(ZONE, app="web")))
    assert [n for n, why in _allowed(by_zone, nodes, placed).items() if not why] == ["n2"]


def test_affinity_needs_a_matching_pod_in_the_domain_unless_the_pod_is_the_first_of_its_group(
) -> None:
    nodes, placed = _Nodes("a", "a", "b", ""), PlacedPods()
    wants_cache = _pod("app", affinity=_affinity("podAffinity", _term(ZONE, app="cache")))
    assert all(_allowed(wants_cache, nodes, placed).values())  # no cache pod: nowhere
    first = _pod("grp-0", {"app": "grp"}, affinity=_affinity("podAffinity",
                                                             _term(ZONE, app="grp")))
    # The first of a self-affine group may go to any node with the key (not n3).
    assert _allowed(first, nodes, placed) == {
        "n0": "", "n1": "", "n2": "", "n3": "node(s) didn't match pod affinity rules"}
    _place(placed, _pod("cache", {"app": "cache"}), "n1")
    assert [n for n, why in _allowed(wants_cache, nodes, placed).items() if not why] == \
        ["n0", "n1"]
    _place(placed, first, "n2")
    later = _pod("grp-1", {"app": "grp"}, affinity=_affinity("podAffinity",
                                                             _term(ZONE, app="grp")))
    assert [n for n, why in _allowed(later, nodes, placed).items() if not why] == ["n2"]


def test_a_placed_pods_anti_affinity_repels_pods_it_matches_even_without_rules() -> None:
    nodes, placed = _Nodes("a", "b"), PlacedPods()
    holder = _pod("loner", affinity=_affinity("podAntiAffinity", _term(app="noisy")))
    _place(placed, holder, "n0")
    noisy, quiet = _pod("noisy", {"app": "noisy"}), _pod("quiet", {"app": "quiet"})
    assert needs_filter(noisy, placed) and not needs_filter(quiet, placed)
    assert _allowed(noisy, nodes, placed) == {
        "n0": "node(s) didn't satisfy existing pods anti-affinity rules", "n1": ""}
    placed.discard(holder.key)
    assert not needs_filter(noisy, placed)


def test_spread_allows_only_domains_within_max_skew_of_the_emptiest() -> None:
    nodes, placed = _Nodes("a", "b", "c", ""), PlacedPods()
    spread = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "s"}}}]
    for i, where in enumerate(["n0", "n0", "n1"]):
        _place(placed, _pod(f"s-{i}", {"app": "s"}), where)
    _place(placed, _pod("other-ns", {"app": "s"}, namespace="ml"), "n2")  # not counted
    incoming = _pod("s-3", {"app": "s"}, topologySpreadConstraints=spread)
    assert _allowed(incoming, nodes, placed) == {
        "n0": "node(s) didn't match pod topology spread constraints",
        "n1": "node(s) didn't match pod topology spread constraints",
        "n2": "",
        "n3": "node(s) didn't match pod topology spread constraints (missing required label)"}
    # minDomains 4 with three zones: the emptiest counts as 0, so only empty zones are open.
    strict = [{**spread[0], "minDomains": 4}]
    _place(placed, _pod("s-4", {"app": "s"}), "n2")
    incoming = _pod("s-5", {"app": "s"}, topologySpreadConstraints=strict)
    assert not any(why == "" for why in _allowed(incoming, nodes, placed).values())


def test_the_index_finds_matching_pods_by_label_and_forgets_removed_ones() -> None:
    placed = PlacedPods()
    for i in range(50):
        _place(placed, _pod(f"p{i}", {"app": "a" if i % 2 else "b", "i": str(i)}), "n0")
    selector = selector_from_api({"matchLabels": {"app": "a"}}, "s", {})
    assert len(list(placed.matching(selector, frozenset({"default"})))) == 25
    assert list(placed.matching(None, None)) == []
    placed.discard("default/p1")
    assert len(list(placed.matching(selector, None))) == 24
    assert list(placed.matching(selector, frozenset({"other"}))) == []
