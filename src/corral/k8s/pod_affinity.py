"""Required inter-pod affinity and anti-affinity, with kube-scheduler's InterPodAffinity semantics.

A term picks pods by a label selector in some namespaces (those it lists, else the pod's own;
an empty ``namespaceSelector: {}`` means every namespace) and names a *topology key*: nodes
sharing that label's value form one domain (a node, with ``kubernetes.io/hostname``; a zone...).

- Affinity: a node qualifies when it has every term's key and, for each term, its domain holds
  a pod that matches all the terms. When no such pod exists anywhere and the pod matches all
  its own terms, any node with the keys qualifies, so the first pod of a group can start.
- Anti-affinity: a node is out when its domain holds a pod a term matches; a node without the
  key is in no domain and qualifies.
- Symmetry: an existing pod's anti-affinity term that matches the incoming pod keeps it off the
  domain of the pod holding the term.

A ``namespaceSelector`` with requirements would need Namespace labels, which Corral does not
watch: it is refused (InvalidSpec naming the field) rather than guessed. Preferred terms only
steer kube-scheduler's scoring and are not read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from corral.k8s.label_selector import LabelSelector, selector_from_api
from corral.model import InvalidSpec

if TYPE_CHECKING:
    from corral.k8s.placed_pods import PlacedPods

REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"

AFFINITY_MISMATCH = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_MISMATCH = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
"""kube-scheduler's words, so messages read as users know them."""

NodeLabels = Callable[[str], Mapping[str, str] | None]
"""A node's labels by name (None for a node the scheduler does not know)."""


class AffinityTerm(NamedTuple):
    """One required term, its namespaces resolved against the pod that carries it."""

    selector: LabelSelector | None
    """None (no selector) matches no pod."""
    namespaces: frozenset[str] | None
    """None: every namespace."""
    topology_key: str

    def matches(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return self.selector is not None and \
            (self.namespaces is None or namespace in self.namespaces) and \
            self.selector.matches(labels)


def terms_from_spec(spec: Mapping[str, Any], namespace: str, labels: Mapping[str, str]
                    ) -> tuple[tuple[AffinityTerm, ...], tuple[AffinityTerm, ...]]:
    """A pod's required (affinity, anti-affinity) terms; InvalidSpec naming a malformed one."""
    affinity = spec.get("affinity") or {}
    if not isinstance(affinity, Mapping):
        raise InvalidSpec("spec.affinity must be an object")
    return (_terms(affinity.get("podAffinity"), f"spec.affinity.podAffinity.{REQUIRED}",
                   namespace, labels),
            _terms(affinity.get("podAntiAffinity"), f"spec.affinity.podAntiAffinity.{REQUIRED}",
                   namespace, labels))


def _terms(raw: Any, where: str, namespace: str, labels: Mapping[str, str]
           ) -> tuple[AffinityTerm, ...]:
    if not raw:
        return ()
    if not isinstance(raw, Mapping):
        raise InvalidSpec(f"{where.rsplit('.', 1)[0]} must be an object")
    terms = raw.get(REQUIRED) or ()
    if not isinstance(terms, list | tuple):
        raise InvalidSpec(f"{where} must be a list")
    return tuple(dict.fromkeys(_term(t, f"{where}[{i}]", namespace, labels)
                               for i, t in enumerate(terms)))


def _term(raw: Any, where: str, namespace: str, labels: Mapping[str, str]) -> AffinityTerm:
    if not isinstance(raw, Mapping):
        raise InvalidSpec(f"{where} must be a pod affinity term")
    key = raw.get("topologyKey")
    if not isinstance(key, str) or not key:
        raise InvalidSpec(f"{where}.topologyKey must be a non-empty label key")
    listed = raw.get("namespaces") or ()
    if not isinstance(listed, list | tuple) or not all(isinstance(n, str) for n in listed):
        raise InvalidSpec(f"{where}.namespaces must be a list of names")
    chooser = raw.get("namespaceSelector")
    namespaces: frozenset[str] | None = frozenset(listed) or frozenset({namespace})
    if chooser is not None:
        if chooser != {}:
            raise InvalidSpec(f"{where}.namespaceSelector: only the empty selector ({{}}, every "
                              "namespace) is supported; Corral does not read Namespace labels")
        namespaces = None
    selector = selector_from_api(raw.get("labelSelector"), f"{where}.labelSelector", labels,
                                 raw.get("matchLabelKeys"), raw.get("mismatchLabelKeys"))
    return AffinityTerm(selector, namespaces, key)


def wanted_domains(terms: tuple[AffinityTerm, ...], placed: PlacedPods,
                   labels_of: NodeLabels) -> list[frozenset[str]] | None:
    """Per term, the values of its topology key whose domain holds a pod matching every term;
    None when there is no such pod on any node with a term's key."""
    first = terms[0]
    found: list[set[str]] = [set() for _ in terms]
    for pod in placed.matching(first.selector, first.namespaces):
        if not all(t.matches(pod.namespace, pod.labels) for t in terms[1:]):
            continue
        node_labels = labels_of(pod.node)
        if node_labels is None:
            continue
        for term, values in zip(terms, found, strict=True):
            value = node_labels.get(term.topology_key)
            if value is not None:
                values.add(value)
    if not any(found):
        return None
    return [frozenset(v) for v in found]


def repelled_domains(terms: tuple[AffinityTerm, ...], placed: PlacedPods,
                     labels_of: NodeLabels) -> dict[str, set[str]]:
    """Topology key -> the values whose domain holds a pod one of *terms* matches."""
    out: dict[str, set[str]] = {}
    for term in terms:
        for pod in placed.matching(term.selector, term.namespaces):
            _add_domain(out, term.topology_key, labels_of(pod.node))
    return out


def domains_repelling(namespace: str, labels: Mapping[str, str], placed: PlacedPods,
                      labels_of: NodeLabels) -> dict[str, set[str]]:
    """Topology key -> the values whose domain holds a pod with an anti-affinity term that
    matches a pod of *namespace* and *labels* (the symmetric rule)."""
    out: dict[str, set[str]] = {}
    for term, holders in placed.anti_terms.items():
        if term.matches(namespace, labels):
            for node in holders:
                _add_domain(out, term.topology_key, labels_of(node))
    return out


def in_domains(domains: Mapping[str, set[str]], node_labels: Mapping[str, str]) -> bool:
    """True when the node with *node_labels* lies in one of *domains*."""
    return any(node_labels.get(key) in values for key, values in domains.items())


def _add_domain(out: dict[str, set[str]], key: str, node_labels: Mapping[str, str] | None
                ) -> None:
    if node_labels is not None and key in node_labels:
        out.setdefault(key, set()).add(node_labels[key])
