"""The pods that hold a place on a node, indexed for inter-pod rules.

Pod affinity and topology spread ask "which placed pods match this selector, and where are
they?" for every pending pod that has such rules. Scanning every pod each time would cost
pods x pending pods per cycle, so the cluster cache keeps this index up to date pod event by
pod event: pods by label value and by namespace (a selector's most selective requirement picks
the candidates), and the required anti-affinity terms placed pods carry, with the nodes of the
pods that carry them (few distinct terms, however many replicas share them). *Placed* means
bound, whoever bound it, or assumed bound by this scheduler; finished pods hold no place.

The label and namespace indexes are built the first time a selector is asked about, and kept
from then on: a cluster whose pods have no such rules pays one dictionary entry per pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from corral.k8s.label_selector import LabelSelector
    from corral.k8s.pod_affinity import AffinityTerm


class PlacedPod(NamedTuple):
    key: str
    namespace: str
    labels: Mapping[str, str]
    node: str
    deleting: bool
    anti_affinity: tuple[AffinityTerm, ...]


class PlacedPods:
    """Placed pods by key, label value and namespace, and the anti-affinity terms they hold."""

    def __init__(self) -> None:
        self._pods: dict[str, PlacedPod] = {}
        self._by_label: dict[tuple[str, str], set[str]] = {}
        self._by_namespace: dict[str, set[str]] = {}
        self._indexed = False
        self._anti: dict[AffinityTerm, dict[str, int]] = {}
        self.version = 0
        """Grows with every change (the cache recomputes rule-bound pods' nodes on it)."""
        self.changed_anti: set[AffinityTerm] = set()
        """Anti-affinity terms whose holders came, went or moved since the cache last looked:
        pending pods they match may go to other nodes now."""

    def __len__(self) -> int:
        return len(self._pods)

    @property
    def anti_terms(self) -> Mapping[AffinityTerm, Mapping[str, int]]:
        """Each anti-affinity term placed pods hold -> node -> how many holders are there."""
        return self._anti

    def put(self, pod: PlacedPod) -> None:
        """Record *pod* (again); a pod recorded unchanged costs one comparison."""
        old = self._pods.get(pod.key)
        if old == pod:
            return
        if old is not None:
            self._drop(old)
        self._pods[pod.key] = pod
        if self._indexed:
            self._add_to_index(pod)
        for term in pod.anti_affinity:
            holders = self._anti.setdefault(term, {})
            holders[pod.node] = holders.get(pod.node, 0) + 1
            self.changed_anti.add(term)
        self.version += 1

    def discard(self, key: str) -> None:
        old = self._pods.get(key)
        if old is not None:
            self._drop(old)
            del self._pods[key]
            self.version += 1

    def matching(self, selector: LabelSelector | None,
                 namespaces: frozenset[str] | None) -> Iterator[PlacedPod]:
        """Placed pods in *namespaces* (None: all) that *selector* matches (None: none)."""
        if selector is None:
            return
        if not self._indexed:
            self._indexed = True
            for pod in self._pods.values():
                self._add_to_index(pod)
        candidates: set[str] | None = None
        if namespaces is not None:
            candidates = self._union(self._by_namespace, namespaces)
        for r in selector.requirements:
            if r.operator == "In":
                keys = self._union(self._by_label, ((r.key, v) for v in r.values))
                if candidates is None or len(keys) < len(candidates):
                    candidates = keys
        pods = self._pods
        for key in (pods if candidates is None else candidates):
            pod = pods[key]
            if (namespaces is None or pod.namespace in namespaces) and \
                    selector.matches(pod.labels):
                yield pod

    @staticmethod
    def _union(index: Mapping[object, set[str]], keys: Iterable[object]) -> set[str]:
        found = [index[k] for k in keys if k in index]
        if len(found) == 1:
            return found[0]
        return set().union(*found)

    def _add_to_index(self, pod: PlacedPod) -> None:
        for item in pod.labels.items():
            self._by_label.setdefault(item, set()).add(pod.key)
        self._by_namespace.setdefault(pod.namespace, set()).add(pod.key)

    def _drop(self, pod: PlacedPod) -> None:
        if self._indexed:
            for item in pod.labels.items():
                keys = self._by_label[item]
                keys.discard(pod.key)
                if not keys:
                    del self._by_label[item]
            keys = self._by_namespace[pod.namespace]
            keys.discard(pod.key)
            if not keys:
                del self._by_namespace[pod.namespace]
        for term in pod.anti_affinity:
            holders = self._anti[term]
            holders[pod.node] -= 1
            if not holders[pod.node]:
                del holders[pod.node]
            if not holders:
                del self._anti[term]
            self.changed_anti.add(term)
