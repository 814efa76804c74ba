"""When a gang's pending members may be tried, and how many of them start together.

A gang needs its minimum (``minMember``, ``minCount``) running at once, not all its pods:
its pending members wait until that many exist, then start as one job of the members still
missing from the minimum; once the minimum is bound, each other member is a job of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from corral.k8s import conventions as names
from corral.k8s.gangs import GangInfo, GangRef
from corral.k8s.unit_ids import UnitId

T = TypeVar("T")


def gang_object(index: Mapping[GangRef, GangInfo], ref: GangRef) -> GangInfo | None:
    """The group object *ref* names in *index*."""
    info = index.get(ref)
    if info is None and ref.kind == names.VOLCANO.name:  # Volcano pods may name one
        info = index.get(GangRef(names.SCHEDULER_PLUGINS.name, ref.namespace, ref.name))
    return info


def gang_units(ref: GangRef) -> tuple[UnitId, ...]:
    """The units a change to the group object *ref* may affect."""
    kinds = [ref.kind] if ref.kind != names.SCHEDULER_PLUGINS.name else \
        [ref.kind, names.VOLCANO.name]  # Volcano pods may name a scheduler-plugins group
    out: list[UnitId] = []
    for kind in kinds:
        base = UnitId.gang(GangRef(kind, ref.namespace, ref.name))
        out += [base, base.bound]
    return tuple(out)


def gang_wait(ref: GangRef, gangs: Mapping[GangRef, GangInfo],
              bad_gangs: Mapping[GangRef, GangInfo], served_kinds: set[str],
              bound: int, pending: int) -> str:
    """Why a gang with *bound* members bound and *pending* waiting cannot be tried yet ('' if
    it can)."""
    info = gang_object(gangs, ref)
    kind = next(k for k in names.GANG_KINDS if k.name == ref.kind)
    if info is None:
        bad = gang_object(bad_gangs, ref)
        if bad is not None:
            return f"gang {ref.key}: {bad.phase}"
        if kind.name not in served_kinds and \
                names.SCHEDULER_PLUGINS.name not in served_kinds:
            return (f"gang {ref.key}: the API server does not serve {kind.group} "
                    "PodGroups, so its size is unknown")
        return f"gang {ref.key}: PodGroup {ref.key} not found"
    if bound + pending < info.min_member:
        return (f"gang {ref.key}: {bound + pending}/{info.min_member} pods created; "
                f"waiting for the rest")
    return ""


def quorum(info: GangInfo | None, pending: Sequence[T], bound: int) -> list[T]:
    """The pending members (oldest first) to start together now: those the minimum still
    lacks, at least one."""
    if info is None:
        return list(pending)
    return list(pending[:max(info.min_member - bound, 1)])  # >= 1 while the unit has pods
