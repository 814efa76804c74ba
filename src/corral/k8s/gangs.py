"""Gangs as the ecosystem writes them: which group a pod belongs to, and the group's minimum.

Three conventions, first match wins (:data:`~corral.k8s.conventions.GANG_KINDS`): the
scheduler-plugins PodGroup (pod label ``scheduling.x-k8s.io/pod-group``), the in-tree
``scheduling.k8s.io`` PodGroup (pod field ``spec.schedulingGroup.podGroupName``, group field
``gang.minCount``) where the API server serves it, and Volcano's annotation
``scheduling.k8s.io/group-name`` (with Volcano's PodGroup for ``minMember``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from corral.k8s import conventions as names
from corral.model import InvalidSpec


class GangRef(NamedTuple):
    """A group a pod names: its convention, namespace and name."""

    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class GangInfo:
    """What a group object says: at least *min_member* pods start together, and a partly bound
    gang is undone after *timeout_s*."""

    ref: GangRef
    min_member: int
    timeout_s: float = names.DEFAULT_GANG_TIMEOUT_S
    uid: str = ""
    phase: str = ""


def gang_of_pod(obj: Mapping[str, Any]) -> GangRef | None:
    """The group *obj* (a Pod) belongs to under the first convention it follows, or None."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    spec = obj.get("spec") or {}
    for kind in names.GANG_KINDS:
        group = ""
        if kind.pod_label:
            group = labels.get(kind.pod_label) or ""
        elif kind.pod_annotation:
            group = annotations.get(kind.pod_annotation) or ""
        elif kind.pod_field:
            value: Any = spec
            for part in kind.pod_field:
                value = value.get(part) if isinstance(value, Mapping) else None
            group = value if isinstance(value, str) else ""
        if group:
            return GangRef(kind.name, namespace, group)
    return None


def gang_from_api(kind: names.GangKind, obj: Mapping[str, Any]) -> GangInfo:
    """Read a group object of *kind*; InvalidSpec naming it if its minimum is unusable."""
    meta = obj.get("metadata") or {}
    ref = GangRef(kind.name, meta.get("namespace") or "default", meta.get("name") or "")
    spec = obj.get("spec") or {}
    if kind.name == names.UPSTREAM.name:
        minimum = _upstream_min_count(spec)
    else:
        minimum = spec.get("minMember", 1)
    timeout = spec.get("scheduleTimeoutSeconds") or names.DEFAULT_GANG_TIMEOUT_S
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        raise InvalidSpec(f"PodGroup {ref.key}: minimum members must be an integer >= 1, "
                          f"got {minimum!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InvalidSpec(f"PodGroup {ref.key}: scheduleTimeoutSeconds must be > 0, "
                          f"got {timeout!r}")
    return GangInfo(ref, minimum, float(timeout), meta.get("uid", ""),
                    (obj.get("status") or {}).get("phase", ""))


def _upstream_min_count(spec: Mapping[str, Any]) -> Any:
    """``gang.minCount`` wherever the (still alpha) in-tree API nests it; 1 without a gang."""
    for path in (("gang",), ("schedulingPolicy", "gang"), ("policy", "gang")):
        value: Any = spec
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, Mapping) and "minCount" in value:
            return value["minCount"]
    return 1
