"""What a Start decision becomes for the API server: the slot each pod gets, and its binding.

A :class:`Slot` is where a pod runs (node and GPU indices), as the cache books it; a
:class:`GangBinding` is the applier's work for one decision, all its members or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from corral.core.placement import NodeGrant, Placement
from corral.model import MILLI

if TYPE_CHECKING:
    from collections.abc import Sequence

    from corral.core import ClusterState
    from corral.k8s.gangs import GangInfo
    from corral.k8s.pods import PodRecord
    from corral.model import Job, Node


class Slot(NamedTuple):
    """Where a pod runs: its node and the GPU indices it holds there."""

    node: str
    gpus: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Binding:
    """One pod the applier must bind: to *node*, holding *gpus* there."""

    pod: PodRecord
    node: str
    gpus: tuple[int, ...]
    gpu_memory_mib: int


@dataclass(frozen=True, slots=True)
class GangBinding:
    """A Start decision as API work: every member's binding, all or none."""

    job_id: str
    gang: GangInfo | None
    bindings: tuple[Binding, ...]


def grant_slots(nodes: Sequence[Node], placement: Placement) -> list[Slot]:
    """A placement's tasks, one slot each, in grant order (the GPUs split evenly)."""
    slots: list[Slot] = []
    for grant in placement.grants:
        per_task = len(grant.gpus) // grant.tasks if grant.gpus else 0
        for task in range(grant.tasks):
            gpus = grant.gpus[task * per_task:(task + 1) * per_task] if per_task else ()
            slots.append(Slot(nodes[grant.node].name, tuple(gpus)))
    return slots


def slots_placement(state: ClusterState, job: Job, slots: list[Slot]) -> Placement:
    """The core's placement of a running job whose pods hold *slots*."""
    by_node: dict[int, list[int]] = {}
    tasks: dict[int, int] = {}
    for slot in slots:
        index = state.node_index[slot.node]
        by_node.setdefault(index, []).extend(slot.gpus)
        tasks[index] = tasks.get(index, 0) + 1
    milli = min(job.gpu_milli, MILLI)  # whole-GPU tasks list each GPU once, at 1000
    return Placement(tuple(NodeGrant(node, tasks[node], tuple(gpus), milli)
                           for node, gpus in by_node.items()))
