"""The extension points of a scheduling cycle, one small protocol each.

Modelled on the Kubernetes scheduling framework (QueueSort, PreFilter, Filter, Score, Permit,
PostFilter), with one change for speed: Filter and Score are *vectorised*. A filter answers for
every node at once with the number of the job's tasks each node can host (0 = filtered out), and
a score rates all candidate nodes at once with a numpy array in [0, 100]. A plugin implements
only the points it needs and lists them in ``extension_points``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from corral.core.status import Status
from corral.model import Job

if TYPE_CHECKING:
    from corral.core.cluster_state import ClusterState
    from corral.core.cycle_state import CycleState
    from corral.core.decisions import Resize

MAX_SCORE = 100.0
"""Scores are in [0, MAX_SCORE]; a policy weights and adds them."""

EXTENSION_POINTS = ("queue_sort", "admit", "filter", "score", "permit", "post_filter", "resize")
"""Every extension point, in the order a cycle visits them."""


class Plugin(Protocol):
    """What every plugin has: a unique name and the extension points it implements."""

    name: ClassVar[str]
    extension_points: ClassVar[tuple[str, ...]]


@runtime_checkable
class QueueSort(Plugin, Protocol):
    """Which pending job goes first."""

    def sort_key(self, job: Job, cluster: ClusterState, now: float) -> Any:
        """A key for *job* at *now*, smaller first; computed when the job enters the queue
        (submitted or preempted) and again whenever the cluster is re-keyed.

        Ties keep arrival order. Keys must be comparable with each other (tuples of numbers).
        *cluster* offers what a key may depend on beyond the job: attained service
        (:meth:`ClusterState.attained_service`), how long the job has waited
        (``cluster.pending_since``), its last run (``cluster.last_run``). Preemption plugins
        compare running jobs by the same key, so it must be defined for them too.
        """
        ...

    # Optional: ``rekey_seconds: float``: the key changes as jobs wait, so the scheduler
    # re-keys the pending queue at most this often.
    # Optional: ``running_key_holds_until(run, cluster, now) -> float``: until when a running
    # job's key stays what it is at *now*; preemption then re-keys running jobs only when one
    # starts, ends or reaches that time, instead of in every cycle.


@runtime_checkable
class Admit(Plugin, Protocol):
    """May this job be considered in this cycle at all (quota, gang completeness...)?"""

    def admit(self, state: CycleState, job: Job) -> Status:
        """SUCCESS to go on; WAIT or UNSCHEDULABLE with a reason to leave the job pending."""
        ...


@runtime_checkable
class Filter(Plugin, Protocol):
    """How many of the job's tasks can each node host now?

    The verdict may depend only on the job's ``shape`` and on free capacity, and must not grow
    when capacity shrinks: the core caches "shape S does not fit" until capacity is freed.
    """

    def filter(self, state: CycleState, job: Job) -> np.ndarray | None:
        """An int (or bool) array over all nodes: tasks of *job* each node can host (0 = not
        this node; counts may be capped at ``job.tasks``), or None when this plugin restricts
        nothing for *job*. The core never writes to the returned array.

        Read free capacity from *state* (the cycle's view, with this cycle's reservations),
        never from the backend's snapshot directly.
        """
        ...


@runtime_checkable
class Score(Plugin, Protocol):
    """How good is each candidate node for the next part of the gang?"""

    def score(self, state: CycleState, job: Job, nodes: np.ndarray, fit: np.ndarray,
              remaining: int) -> np.ndarray | float:
        """Scores in [0, 100] for *nodes* (indices), where node ``nodes[i]`` can host ``fit[i]``
        of the *remaining* tasks still to place. Higher is better. A plain float means "the
        same for every node" and is skipped, since it cannot change the choice.
        """
        ...


@runtime_checkable
class Permit(Plugin, Protocol):
    """Is this proposed placement of the gang acceptable as a whole?"""

    def permit(self, state: CycleState, job: Job, chosen: Sequence[tuple[int, int]]) -> Status:
        """*chosen* lists ``(node, tasks)`` pairs; reject with UNSCHEDULABLE and a reason."""
        ...


@runtime_checkable
class NodeLimit(Plugin, Protocol):
    """Optional, for Permit plugins that cap the nodes a gang may span: saying so up front lets
    the core stop searching once a placement would exceed the cap, instead of building one
    only to have it refused."""

    def node_limit(self, state: CycleState, job: Job) -> int | None:
        """The most nodes *job*'s gang may use, or None for no limit."""
        ...


@runtime_checkable
class PostFilter(Plugin, Protocol):
    """Nothing fits: whom could we preempt so that this job fits?"""

    def post_filter(self, state: CycleState, job: Job, status: Status,
                    fits: Callable[[CycleState], bool]) -> list[str]:
        """Ids of running jobs to evict (whole gangs), or an empty list to leave the job waiting.

        *fits* answers "would the job fit on this what-if state?" with the policy's own filters
        and permits; try victims on ``state.clone()``, never on *state* itself. The core then
        frees the victims' capacity in *state* and places the job.
        """
        ...


Room = Callable[["CycleState", Job], np.ndarray]
"""Tasks of a job each node can host on a cycle state, by the policy's own filters."""


@runtime_checkable
class Resizer(Plugin, Protocol):
    """Running elastic gangs (``Job.min_tasks`` < ``max_tasks``) change size: they shrink to
    make room before anything is preempted, and grow into GPUs nobody waits for."""

    def make_room(self, state: CycleState, job: Job, status: Status,
                  fits: Callable[[CycleState], bool], room: Room) -> list[Resize]:
        """Shrinks or moves of running jobs after which *job* fits, or an empty list.

        Asked before the PostFilter plugins, with the same *fits*; try the changes on
        ``state.clone()`` (:meth:`CycleState.resize`), never on *state*: the core applies
        them and places the job. *room* gives the tasks of a job each node can host on a
        state, by the policy's filters. A job already resized or released in this cycle
        (``state.preempted``) is left alone.
        """
        ...

    def grow(self, state: CycleState, room: Room) -> list[Resize]:
        """Grow running jobs into capacity no pending job is waiting for, applying each change
        to *state* with :meth:`CycleState.resize` (one decision per job). Asked once per
        cycle, after the queue walk, only when it left no job waiting for capacity."""
        ...


POINT_PROTOCOLS: dict[str, type] = {
    "queue_sort": QueueSort,
    "admit": Admit,
    "filter": Filter,
    "score": Score,
    "permit": Permit,
    "post_filter": PostFilter,
    "resize": Resizer,
}
"""The protocol a plugin must satisfy for each extension point it lists."""
