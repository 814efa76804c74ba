"""The scheduler's view of the cluster, kept up to date event by event from the watches.

Watch events only record what changed (objects in dictionaries, affected *units* marked dirty);
:meth:`ClusterCache.sync`, called once before each cycle, carries the changes into the core's
:class:`~corral.core.ClusterState`, so a burst of events costs one pass and no cycle rebuilds
the world. Only a change to the set of usable nodes or to the queues rebuilds the state.

A *unit* is one entry of the state:

- ``pod/<ns>/<name>``: a lone pod of ours, pending or bound;
- ``gang/<kind>/<ns>/<name>``: the pending members of a gang, as one job of that many tasks,
  until the gang's minimum is bound (or assumed);
- ``gang/<kind>/<ns>/<name>#pod/<pod>``: once it is, each pending member on its own, a job of
  one task, so any number of them start in one cycle, each as it fits;
- ``gang/<kind>/<ns>/<name>#bound``: its bound members, one running job (evicted whole);
- ``other/<ns>/<name>``: a pod another scheduler bound; it takes capacity, is never preempted,
  and counts against no queue.

Bindings are *assumed* (kube-scheduler's word) the moment the applier is told to make them, so
the next cycle already sees the capacity taken; a failed binding is *forgotten* and the pod is
pending again. Capacity is counted per GPU: the GPUs a bound pod holds are the ones recorded on
it (``corral.dev/gpu-index``) or, for whole GPUs the kubelet picks, any free ones of its node.

Bound and assumed pods are also kept in :class:`~corral.k8s.placed_pods.PlacedPods`, for pod
affinity, anti-affinity and topology spread: a pending unit whose nodes depend on them is
synced again whenever they change, and each Start is checked against them before it is
assumed (:meth:`ClusterCache.rule_conflict`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from corral.core import ClusterState, Scheduler
from corral.core.duration_estimate import DurationEstimate
from corral.core.placement import Placement
from corral.k8s import conventions as names
from corral.k8s.bindings import Binding, GangBinding, Slot, grant_slots, slots_placement
from corral.k8s.gang_quorum import gang_object, gang_units, gang_wait, quorum
from corral.k8s.gangs import GangInfo, GangRef, gang_from_api
from corral.k8s.node_eligibility import Eligibility, NodeEligibility
from corral.k8s.nodes import TOLERATED_TAINTS, NodeInfo, node_from_api
from corral.k8s.placed_pods import PlacedPods
from corral.k8s.pod_bookings import booked, differs, placed_pod
from corral.k8s.pod_rules import PodRuleFilter, needs_filter
from corral.k8s.pods import PodRecord, largest_request, pod_from_api
from corral.k8s.queue_access import UNMANAGED_QUEUE, assemble_tree, queue_refusal
from corral.k8s.queue_crd import QueueObject, queue_from_api
from corral.k8s.rule_narrowing import RuleNarrowing, per_node_cap
from corral.k8s.unit_ids import Family, UnitId
from corral.model import MILLI, InvalidSpec, Job, QueueTree
from corral.model.node_constraints import NO_CONSTRAINTS

log = logging.getLogger(__name__)

ASSUME_TTL_S = 60.0
"""An assumed binding the watch has not confirmed in this long is dropped (as kube-scheduler's
assume cache expires), so a lost event cannot hold capacity forever."""


class _InState(NamedTuple):
    signature: tuple
    running: bool
    since: float


class ClusterCache:
    """Nodes, pods, gangs and queues from the API server, and the core state derived from them.

    Owned by one asyncio task (the scheduling loop and the reflectors' handlers run on one
    event loop), so nothing here locks.
    """

    def __init__(self, scheduler: Scheduler, *, scheduler_name: str = names.SCHEDULER_NAME,
                 file_queues: QueueTree | None = None,
                 tolerated_taints: Iterable[str] = TOLERATED_TAINTS,
                 served_gang_kinds: Iterable[str] = (),
                 clock: Callable[[], float] = time.time) -> None:
        self.scheduler = scheduler
        self.scheduler_name = scheduler_name
        self.file_queues = file_queues
        self.tolerated = frozenset(tolerated_taints)
        self.served_gang_kinds = set(served_gang_kinds)
        self.clock = clock
        self.nodes: dict[str, NodeInfo] = {}
        self.pods: dict[str, PodRecord] = {}
        self.gangs: dict[GangRef, GangInfo] = {}
        self.queue_objects: dict[str, QueueObject] = {}
        self.namespace_labels: dict[str, Mapping[str, str]] = {}
        self.bad_gangs: dict[GangRef, GangInfo] = {}
        """PodGroups that cannot be read: their identity, and why as the phase (their members
        wait, saying so, and the PodGroup gets an Event)."""
        self.bookings: dict[str, PodRecord] = {}
        """Pod key -> the record it was admitted (assumed or first seen bound) with. What it
        holds is fixed then: later edits of its labels or annotations, which its owner may
        make, are ignored (see :func:`~corral.k8s.pod_bookings.booked`)."""
        self.edits_ignored: dict[str, str] = {}
        """Pod key -> an edit of an admitted pod that was ignored, not yet reported."""
        self.problems: dict[str, str] = {}
        """Objects that could not be read or placed in the model, and why (shown as Events)."""
        self.held_back: dict[str, str] = {}
        """Units of ours kept out of the state for now (a gang not complete yet, no eligible
        node), and why."""
        self.narrowed: dict[str, Eligibility] = {}
        """Pending units in the state that may use only some of the usable nodes."""
        self.eligibility = NodeEligibility(())
        """Eligible nodes per pod constraints, for the nodes as they were at the last sync."""
        self._eligibility_stale = True
        self.placed = PlacedPods()
        """Pods bound or assumed, indexed for pod affinity and topology spread."""
        self._placed_seen = -1
        self._rule_bound: set[str] = set()
        """Pending units whose nodes depend on the placed pods (re-synced when they change)."""
        self._rules = RuleNarrowing()
        self.self_conflicts: dict[str, tuple[tuple, str]] = {}
        """Gang -> (its pending members and nodes then, why): members whose rules broke one
        another when placed together, held back until the gang or the nodes change."""
        self.estimate: Callable[[Job, float], DurationEstimate] | None = None
        """Predicts a job's run time as it enters the state, for policies that read estimates
        (set by the loop; None: no estimates)."""
        self.state: ClusterState | None = None
        self.tree: QueueTree | None = None
        self.node_gpu_memory: dict[str, int] = {}
        self._members: dict[str, set[str]] = {}
        """Unit id -> keys of the pods it is built from."""
        self._unit_of: dict[str, tuple[str, ...]] = {}
        """Pod key -> the units it belongs to now."""
        self._extras: dict[str, set[str]] = {}
        """Gang unit -> keys of its pending members filed as units of their own."""
        self._in_state: dict[str, _InState] = {}
        self.slots: dict[str, Slot] = {}
        self.assumed: dict[str, tuple[Slot, float]] = {}
        self.bound_at: dict[str, float] = {}
        """Pod key -> when it was first seen (or assumed) bound: the start of its run."""
        self.evicted: set[str] = set()
        """Pods the scheduler evicted: their end is a preemption, not a kill."""
        self.partial_since: dict[str, float] = {}
        """Gang unit -> when it was first seen bound below its minimum."""
        self._dirty: set[str] = set()
        self._rebuild = True
        self.changes = 0
        """Grows with every change that may matter to a cycle (the loop's dirty signal)."""
        self.on_pod_gone: list[Callable[[PodRecord, str], None]] = []
        """Called with (last record, outcome) when a pod of ours leaves or finishes."""

    # -- watch handlers -------------------------------------------------------------------
    def replace_nodes(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """A fresh list of every Node (start, or relist after ``410 Gone``)."""
        seen = set()
        for obj in objects:
            seen.add(obj["metadata"]["name"])
            self.node_event("ADDED", obj)
        for name in set(self.nodes) - seen:
            self.node_event("DELETED", {"metadata": {"name": name}})

    def node_event(self, kind: str, obj: Mapping[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            if self.nodes.pop(name, None) is not None:
                self._rebuild = True
                self.changes += 1
            self.problems.pop(f"node/{name}", None)
            return
        try:
            info = node_from_api(obj, self.tolerated)
        except InvalidSpec as exc:
            self.problems[f"node/{name}"] = str(exc)
            if self.nodes.pop(name, None) is not None:
                self._rebuild = True
            return
        self.problems.pop(f"node/{name}", None)
        old = self.nodes.get(name)
        self.nodes[name] = info
        # The core's nodes carry labels and taints (its NodeRules filter reads them): a change
        # to either rebuilds the state, as a change of capacity does.
        if old is None or old.node != info.node or old.schedulable != info.schedulable \
                or old.gpu_memory_mib != info.gpu_memory_mib \
                or dict(old.node.labels) != dict(info.node.labels):
            self._rebuild = True
            self.changes += 1
            return
        if dict(old.node.datasets) != dict(info.node.datasets) and self.state is not None:
            index = self.state.node_index.get(name)
            if index is not None:
                for dataset in set(old.node.datasets) | set(info.node.datasets):
                    self.state.set_cached(index, dataset, info.node.datasets.get(dataset, 0.0))

    def replace_pods(self, objects: Iterable[Mapping[str, Any]]) -> None:
        seen = set()
        for obj in objects:
            meta = obj["metadata"]
            seen.add(f"{meta.get('namespace') or 'default'}/{meta['name']}")
            self.pod_event("ADDED", obj)
        for key in set(self.pods) - seen:
            namespace, name = key.split("/", 1)
            self.pod_event("DELETED", {"metadata": {"namespace": namespace, "name": name}})

    def pod_event(self, kind: str, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        key = f"{meta.get('namespace') or 'default'}/{meta['name']}"
        old = self.pods.get(key)
        if kind == "DELETED":
            self.bookings.pop(key, None)
            if old is None:
                return
            del self.pods[key]
            self.assumed.pop(key, None)
            self.slots.pop(key, None)
            self.problems.pop(f"pod/{key}", None)
            self._touch(key, None)
            if self._ours(old) and old.node and not old.finished:
                self._gone(old, "preempted" if key in self.evicted else "killed")
            self.evicted.discard(key)
            self.bound_at.pop(key, None)
            return
        spec = obj.get("spec") or {}
        if old is None and not spec.get("nodeName") and \
                (spec.get("schedulerName") or "default-scheduler") != self.scheduler_name:
            return  # another scheduler's pending pod: nothing to hold, nothing to place
        pod = booked(self.bookings, self.edits_ignored, key, pod_from_api(obj), self._ours)
        if not self._ours(pod) and not pod.node:
            if old is not None:  # it was ours, or bound, and no longer is
                del self.pods[key]
                self._touch(key, None)
            return
        self.pods[key] = pod
        if pod.node and key not in self.bound_at:
            self.bound_at[key] = self.clock()
        assumed = self.assumed.get(key)
        if assumed is not None and pod.node:
            del self.assumed[key]
            if pod.node == assumed[0].node:
                self.slots[key] = assumed[0]
        if old is not None and old.node and pod.node != old.node:
            self.slots.pop(key, None)
        if pod.error:
            self.problems[f"pod/{key}"] = pod.error
        else:
            self.problems.pop(f"pod/{key}", None)
        if old is None or differs(old, pod):
            self._touch(key, pod)
        if self._ours(pod) and pod.finished and old is not None and not old.finished:
            self._gone(pod, "completed" if pod.phase == "Succeeded" else "failed")

    def replace_gangs(self, kind: names.GangKind, objects: Iterable[Mapping[str, Any]]) -> None:
        seen = set()
        for obj in objects:
            meta = obj["metadata"]
            seen.add(GangRef(kind.name, meta.get("namespace") or "default", meta["name"]))
            self.gang_event(kind, "ADDED", obj)
        for ref in [r for r in self.gangs if r.kind == kind.name and r not in seen]:
            self.gang_event(kind, "DELETED", {"metadata": {"namespace": ref.namespace,
                                                           "name": ref.name}})

    def gang_event(self, kind: names.GangKind, event: str, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        ref = GangRef(kind.name, meta.get("namespace") or "default", meta["name"])
        problem = f"podgroup/{kind.name}/{ref.key}"
        self.bad_gangs.pop(ref, None)
        if event == "DELETED":
            self.gangs.pop(ref, None)
            self.problems.pop(problem, None)
        else:
            try:
                info = gang_from_api(kind, obj)
            except InvalidSpec as exc:
                self.problems[problem] = str(exc)
                self.bad_gangs[ref] = GangInfo(ref, 0, uid=meta.get("uid", ""),
                                               phase=str(exc))
                self.gangs.pop(ref, None)
            else:
                self.problems.pop(problem, None)
                old = self.gangs.get(ref)
                self.gangs[ref] = info
                if old is not None and (old.min_member, old.timeout_s) == \
                        (info.min_member, info.timeout_s):
                    return
        units = [str(u) for u in gang_units(ref)]
        for unit in units:
            self._refile(unit)
        self._dirty.update(units)
        self.changes += 1

    def replace_queues(self, objects: Iterable[Mapping[str, Any]]) -> None:
        self.queue_objects.clear()
        for key in [k for k in self.problems if k.startswith("queue/")]:
            del self.problems[key]
        for obj in objects:
            self.queue_event("ADDED", obj)
        self._rebuild = True

    def queue_event(self, event: str, obj: Mapping[str, Any]) -> None:
        name = obj["metadata"]["name"]
        self.problems.pop(f"queue/{name}", None)
        if event == "DELETED":
            self.queue_objects.pop(name, None)
        else:
            try:
                self.queue_objects[name] = queue_from_api(obj)
            except InvalidSpec as exc:
                self.problems[f"queue/{name}"] = str(exc)
                self.queue_objects.pop(name, None)
        self._rebuild = True
        self.changes += 1

    def replace_namespaces(self, objects: Iterable[Mapping[str, Any]]) -> None:
        self.namespace_labels.clear()
        for obj in objects:
            self.namespace_event("ADDED", obj)

    def namespace_event(self, event: str, obj: Mapping[str, Any]) -> None:
        """A namespace's labels decide which queues its pods may use."""
        meta = obj["metadata"]
        labels = {} if event == "DELETED" else dict(meta.get("labels") or {})
        if self.namespace_labels.get(meta["name"], {}) == labels:
            return
        if labels:
            self.namespace_labels[meta["name"]] = labels
        else:
            self.namespace_labels.pop(meta["name"], None)
        if self.queue_objects:
            self._dirty.update(u for u in self._members if not _unit(u).is_other)
            self.changes += 1

    def queue_refusal(self, namespace: str, queue: str) -> str:
        """Why pods of *namespace* may not use *queue* ('' if they may, or if the queue is
        unknown: that is reported as such). Queues from the operator's ``--queues`` file are
        open to every namespace; Queue objects only to those their namespaceSelector picks."""
        return queue_refusal(self.tree, self.file_queues, self.queue_objects,
                             self.namespace_labels, namespace, queue)

    def overcommitted(self) -> dict[str, tuple[int, int, list[PodRecord]]]:
        """Nodes whose bound pods hold more GPU than they have: node -> (milli-GPUs held,
        milli-GPUs it has, the pods there, most recently bound first)."""
        state = self.state
        if state is None:
            return {}
        rows = np.flatnonzero((state.gpu_free < 0).any(axis=1))
        if not len(rows):
            return {}
        names_over = {state.nodes[i].name: int(i) for i in rows}
        pods: dict[str, list[PodRecord]] = {n: [] for n in names_over}
        for pod in self.pods.values():
            if pod.node in pods and pod.holds_capacity:
                pods[pod.node].append(pod)
        out = {}
        for name, i in names_over.items():
            capacity = int(state.gpu_count[i]) * MILLI
            used = capacity - int(state.gpu_free[i, :int(state.gpu_count[i])].sum())
            on = sorted(pods[name], key=lambda p: -self.bound_at.get(p.key, 0.0))
            out[name] = (used, capacity, on)
        return out

    # -- what the loop asks -----------------------------------------------------------------
    def sync(self, now: float) -> ClusterState | None:
        """Carry every recorded change into the core state; the state (None: no usable node)."""
        for key, (slot, deadline) in list(self.assumed.items()):
            if deadline < now:
                log.warning("binding of pod %s to %s was never confirmed; forgetting it",
                            key, slot.node)
                self.forget(key)
        self._resync_rule_bound()
        return self._apply(now)

    def _resync_rule_bound(self) -> None:
        """Mark dirty the pending units whose nodes the placed pods changed since the last
        sync: those with rules of their own, and those a changed anti-affinity term matches.
        Once per cycle, never between a cycle's placements (they are checked one by one, see
        :meth:`rule_conflict`)."""
        placed = self.placed
        if placed.version != self._placed_seen:
            self._placed_seen = placed.version
            self._dirty.update(self._rule_bound)
        if placed.changed_anti:
            terms, placed.changed_anti = placed.changed_anti, set()
            for unit in self.pending_units():
                if unit not in self._dirty and any(
                        t.matches(p.namespace, p.labels)
                        for p in self.members(unit) for t in terms):
                    self._dirty.add(unit)

    def _apply(self, now: float) -> ClusterState | None:
        if self._rebuild:
            self._build(now)
        if self._eligibility_stale:
            self.eligibility = NodeEligibility(self.nodes.values())
            self._eligibility_stale = False
        if self.state is None:
            self._dirty.clear()
            return None
        dirty, self._dirty = self._dirty, set()
        # Capacity is freed before it is taken: running units that shrink or leave first.
        for unit in sorted(dirty, key=lambda u: (not self._in_state.get(u, _NONE).running, u)):
            self._sync_unit(unit, now)
        return self.state

    def members(self, unit: str) -> list[PodRecord]:
        """The pods a unit is built from, oldest first."""
        pods = [self.pods[k] for k in self._members.get(unit, ()) if k in self.pods]
        pods.sort(key=lambda p: (p.created, p.name))
        return pods

    def pending_units(self) -> Iterator[str]:
        """Units of ours that wait: in the state's pending queue or kept out of it."""
        for unit, members in self._members.items():
            if members and not (uid := _unit(unit)).is_other and not uid.is_bound_part:
                yield unit

    def gang_info(self, unit: str) -> GangInfo | None:
        ref = _unit(unit).gang_ref
        return None if ref is None else gang_object(self.gangs, ref)

    def rule_conflict(self, job_id: str, placement: Placement) -> str:
        """Why a Start decision would break a pod affinity, anti-affinity or topology spread
        rule now ('' if it would not; then :meth:`assume` it before checking the next one).

        A job's nodes were worked out before the cycle, from the pods placed then, so two
        placements of one cycle may break each other's rules (two replicas that repel each
        other, on one node). Checked in decision order against everything placed, earlier
        decisions of this cycle included, such a decision is not bound: the pods wait for the
        next cycle, whose nodes count the placements made now. A gang is checked whole (all or
        nothing) and its members against each other; members that break one another's rules
        would be placed the same way again, so the gang is held back, saying why, until its
        pods or the nodes change (members kept one per node need no such luck: the core keeps
        them apart, see ``max_tasks_per_node``).
        """
        if job_id not in self._rule_bound and not self.placed.anti_terms:
            return ""  # no member has rules, and no placed pod holds an anti-affinity term
        planned = self._planned(job_id, placement)
        for pod, slot in planned:
            why = self._why_not_now(pod, slot.node)
            if why:
                return (f"pod {pod.key}: not bound to {slot.node}, where the pods placed "
                        f"before it in this cycle leave it out ({why}); retried next cycle")
        added: list[str] = []
        try:
            for pod, slot in planned:
                why = self._why_not_now(pod, slot.node) if added else ""
                if why:
                    ref = _unit(job_id).gang_ref
                    reason = (f"gang {ref.key if ref else job_id}: its members' pod affinity, "
                              f"anti-affinity or topology spread rules rule one another out "
                              f"(pod {pod.key} on {slot.node}: {why}); Corral keeps members "
                              "apart only one per node, so the gang waits until its pods or "
                              "the nodes change")
                    self.self_conflicts[job_id] = (self._conflict_key(
                        [p for p, _ in planned]), reason)
                    self._dirty.add(job_id)
                    return reason
                self.placed.put(placed_pod(pod, slot.node))
                added.append(pod.key)
        finally:
            for key in added:
                self.placed.discard(key)
        return ""

    def _why_not_now(self, pod: PodRecord, node: str) -> str:
        info = self.nodes.get(node)
        if info is None or not needs_filter(pod, self.placed):
            return ""
        return PodRuleFilter(pod, self.eligibility, self.placed).why_not(info)

    def _planned(self, job_id: str, placement: Placement) -> list[tuple[PodRecord, Slot]]:
        """A Start decision's pods, each with the slot it gets."""
        assert self.state is not None
        # The pods the job was built from: the oldest pending ones that are not being deleted.
        pods = [p for p in self.members(job_id) if not self._bound(p) and not p.deleting]
        return list(zip(pods, grant_slots(self.state.nodes, placement), strict=False))

    def assume(self, job_id: str, placement: Placement, now: float) -> GangBinding:
        """Book a Start decision: its pods are bound (assumed) until told otherwise."""
        bindings = []
        for pod, slot in self._planned(job_id, placement):
            self.assumed[pod.key] = (slot, now + ASSUME_TTL_S)
            if 0 < pod.request.gpu_milli < MILLI:  # its GPU is recorded on it as it binds
                pod = dataclasses.replace(pod, gpu_indices=slot.gpus)
            self.bookings[pod.key] = pod
            self.bound_at.setdefault(pod.key, now)
            memory = pod.request.gpu_memory_mib
            if 0 < pod.request.gpu_milli < MILLI and not memory:
                memory = self.node_gpu_memory.get(slot.node, 0) * pod.request.gpu_milli // MILLI
            bindings.append(Binding(pod, slot.node, slot.gpus, memory))
            self._touch(pod.key, pod)
        self._apply(now)
        # A member beyond the minimum binds on its own: its gang already runs.
        gang = None if _unit(job_id).is_extra else self.gang_info(job_id)
        return GangBinding(job_id, gang, tuple(bindings))

    def forget(self, pod_key: str) -> None:
        """A binding that did not happen: the pod waits again (if it still exists)."""
        if self.assumed.pop(pod_key, None) is not None:
            pod = self.pods.get(pod_key)
            if pod is None or not pod.node:
                self.bookings.pop(pod_key, None)  # it waits again: its request is its own
            self._touch(pod_key, pod)

    def unbound_pod(self, key: str) -> PodRecord | None:
        """The pod of ours under *key* if it exists, waits and is not being bound."""
        pod = self.pods.get(key)
        if pod is None or not self._ours(pod) or pod.finished or self._bound(pod):
            return None
        return pod

    def bound_pods(self, unit: str) -> list[PodRecord]:
        """Members the API server has bound (not those only assumed: evicting a pod that is
        still pending would delete it, not undo anything)."""
        return [p for p in self.members(unit) if p.node]

    def used_gpu_milli(self) -> dict[str, int]:
        """Milli-GPUs held per node, as the state counts them (for checks and metrics)."""
        if self.state is None:
            return {}
        state = self.state
        used = state.gpu_count * MILLI - state.gpu_free.sum(axis=1)
        return {n.name: int(used[i]) for i, n in enumerate(state.nodes)}

    # -- internals ------------------------------------------------------------------------
    def _ours(self, pod: PodRecord) -> bool:
        return pod.scheduler == self.scheduler_name

    def _bound(self, pod: PodRecord) -> bool:
        return bool(pod.node) or pod.key in self.assumed

    def _node_of(self, pod: PodRecord) -> str:
        if pod.node:
            return pod.node
        assumed = self.assumed.get(pod.key)
        return assumed[0].node if assumed else ""

    def _gone(self, pod: PodRecord, outcome: str) -> None:
        if outcome:
            for listener in self.on_pod_gone:
                listener(pod, outcome)

    def _units_for(self, pod: PodRecord) -> tuple[str, ...]:
        if not self._ours(pod):
            return (str(UnitId(Family.OTHER, pod.key)),) if pod.holds_capacity else ()
        if pod.finished:
            return ()
        if pod.gang is not None:
            base = UnitId.gang(pod.gang)
            if self._bound(pod):
                return (str(base.bound),)
            return (str(base.extra(pod.name)),) if self._quorate(base) else (str(base),)
        return (str(UnitId(Family.POD, pod.key)),)

    def _quorate(self, base: UnitId) -> bool:
        """True when gang unit *base* has its minimum bound or assumed: its other members are
        then independent of one another, and each is a unit (a job) of its own."""
        ref = base.gang_ref
        info = gang_object(self.gangs, ref) if ref is not None else None
        return info is not None and \
            len(self._members.get(str(base.bound), ())) >= info.min_member

    def _refile(self, unit: str) -> None:
        """Re-file the pending members of gang unit *unit* if its bound part crossed its
        minimum either way (as one job again, or as a job apiece)."""
        if not (uid := _unit(unit)).is_gang_base:
            return
        stale = self._members.get(unit, ()) if self._quorate(uid) else \
            self._extras.get(unit, ())
        for key in list(stale):
            self._file(key, self.pods.get(key))

    def _touch(self, key: str, pod: PodRecord | None) -> None:
        """Re-file a pod under its units and mark old and new units dirty; the pending members
        of a gang whose bound part it joined or left may move between units."""
        old, new = self._file(key, pod)
        for unit in {str(uid.base) for u in (*old, *new) if (uid := _unit(u)).is_bound_part}:
            self._refile(unit)

    def _file(self, key: str, pod: PodRecord | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """File a pod under its units now, mark old and new units dirty; (old, new) units."""
        old = self._unit_of.pop(key, ())
        new = self._units_for(pod) if pod is not None else ()
        for unit in old:
            _discard(self._members, unit, key)
            if (uid := _unit(unit)).is_extra:
                _discard(self._extras, str(uid.base), key)
        for unit in new:
            self._members.setdefault(unit, set()).add(key)
            if (uid := _unit(unit)).is_extra:
                self._extras.setdefault(str(uid.base), set()).add(key)
        if new:
            self._unit_of[key] = new
        self._index(key)
        self._dirty.update(old)
        self._dirty.update(new)
        for unit in (*old, *new):  # a gang's pending part depends on its bound part
            if (uid := _unit(unit)).family is Family.GANG:
                self._dirty.update((str(uid.base), str(uid.bound)))
        self.changes += 1
        return old, new

    def _index(self, key: str) -> None:
        """Keep the placed-pod index in step with the pod under *key*."""
        pod = self.pods.get(key)
        node = self._node_of(pod) if pod is not None and not pod.finished else ""
        if pod is None or not node:
            self.placed.discard(key)
        else:
            self.placed.put(placed_pod(pod, node))

    def _build(self, now: float) -> None:
        """(Re)create the core state from every object held: at start, and when the usable
        nodes or the queues change."""
        self._rebuild = False
        usable = sorted((i for i in self.nodes.values() if i.schedulable),
                        key=lambda i: i.node.name)
        self.node_gpu_memory = {i.node.name: i.gpu_memory_mib for i in usable}
        self._eligibility_stale = True
        self._in_state.clear()
        self.tree = assemble_tree(self.file_queues, self.queue_objects, self.problems)
        if not usable:
            self.state = None
            return
        self.state = self.scheduler.new_state([i.node for i in usable], self.tree)
        self._dirty.update(self._members)
        self.changes += 1
        log.info("cluster state built: %d usable nodes, %d pods, %d queues", len(usable),
                 len(self.pods), 0 if self.tree is None else len(self.tree.queues) - 1)

    def _sync_unit(self, unit: str, now: float) -> None:
        state = self.state
        assert state is not None
        if _unit(unit).is_gang_base:
            self._check_partial(unit, now)
        desired = self._desired(unit, now)
        current = self._in_state.get(unit)
        if desired is not None and current is not None and desired[0] == current.signature:
            return
        since = now
        if current is not None:
            since = current.since
            if current.running:
                state.finish(unit, now)
            else:
                state.withdraw(unit)
            del self._in_state[unit]
        if desired is None:
            return
        signature, job, slots = desired
        try:
            state.submit(job, now, self._estimate(job, now))
        except InvalidSpec as exc:
            self.problems[unit] = str(exc).replace(f"{UNMANAGED_QUEUE}, ", "")
            return
        if slots is None:
            self._in_state[unit] = _InState(signature, False, since)
            return
        run = state.start(unit, slots_placement(state, job, slots), now)
        if current is not None and current.running:
            run.since = since
        self._in_state[unit] = _InState(signature, True, run.since)

    def _estimate(self, job: Job, now: float) -> DurationEstimate | None:
        """The job's predicted run time, or None (no predictor, or it failed: the job is
        scheduled without one rather than not at all)."""
        if self.estimate is None:
            return None
        try:
            return self.estimate(job, now)
        except Exception:  # a prediction bug must not keep a job out of the cluster
            log.exception("predicting the run time of %s failed", job.id)
            return None

    def _desired(self, unit: str, now: float
                 ) -> tuple[tuple, Job, list[Slot] | None] | None:
        """What the state should hold for *unit*: (signature, job, slots if running)."""
        self.problems.pop(unit, None)
        self.held_back.pop(unit, None)
        self.narrowed.pop(unit, None)
        self._rule_bound.discard(unit)
        conflict = self.self_conflicts.pop(unit, None)
        pods = self.members(unit)
        if not pods:
            return None
        uid = _unit(unit)
        running = uid.is_bound_part or uid.is_other or all(self._bound(p) for p in pods)
        eligible = None
        if running:
            pods = [p for p in pods if self._node_of(p) in self.state.node_index]  # type: ignore[union-attr]
            if not pods:
                return None
        else:
            pods = [p for p in pods if not p.deleting]
            bad = [p for p in pods if p.error]
            if bad:
                self.problems[unit] = bad[0].error
                return None
            if not pods:
                return None
            asked = dict.fromkeys((p.namespace, p.queue) for p in pods)  # members share them
            why = next((w for ns, q in asked if (w := self.queue_refusal(ns, q))), "")
            if why:
                self.held_back[unit] = why
                return None
            if not uid.is_extra:  # an extra member waits for no other: its gang runs
                why = self._gang_wait(uid, len(pods))
                if why:
                    self.held_back[unit] = why
                    return None
                pods = self._quorum(uid, pods)
            if conflict is not None and conflict[0] == self._conflict_key(pods):
                self.self_conflicts[unit] = conflict
                self.held_back[unit] = conflict[1]
                return None
            eligible = self._eligible(unit, pods)
            if eligible is None:
                return None
        # Node rules go to the core as rules (its NodeRules filter decides); only the nodes that
        # rules about other pods leave go as names.
        job = self._job(unit, pods, running,
                        eligible.nodes if eligible is not None and unit in self._rule_bound
                        else None, None if running else per_node_cap(pods, self.eligibility))
        if job is None:
            return None
        if not running:
            if eligible is not None and eligible.nodes is not None:
                self.narrowed[unit] = eligible
            return (job.shape, job.queue, job.priority), job, None
        slots = [self._slot(p, job) for p in pods]
        signature = (job.shape, job.queue, tuple(zip((p.key for p in pods), slots, strict=True)))
        return signature, job, slots

    def _quorum(self, uid: UnitId, pending: list[PodRecord]) -> list[PodRecord]:
        """The pending members of *uid* to start together now, oldest first: a gang needs
        its minimum (``minMember``, ``minCount``) running at once, not all its pods; once that
        many are bound, the others are units of their own (see :meth:`_quorate`)."""
        ref = uid.gang_ref
        info = gang_object(self.gangs, ref) if ref is not None else None
        return quorum(info, pending, len(self._members.get(str(uid.bound), ())))

    def _gang_wait(self, uid: UnitId, pending: int) -> str:
        """Why a gang's pending members cannot be tried yet ('' if they can)."""
        ref = uid.gang_ref
        if ref is None:
            return ""
        return gang_wait(ref, self.gangs, self.bad_gangs, self.served_gang_kinds,
                         len(self._members.get(str(uid.bound), ())), pending)

    def _eligible(self, unit: str, pods: list[PodRecord]) -> Eligibility | None:
        """Where *unit*'s pending pods may go; None (held back, saying why) if nowhere. Members
        of a gang normally share a spec; where they differ, a node must suit every one."""
        constraints = frozenset(p.constraints for p in pods)
        eligible = self.eligibility.of(constraints)
        if eligible.count and any(needs_filter(p, self.placed) for p in pods):
            self._rule_bound.add(unit)
            eligible = self._rules.narrowed(pods, eligible, self.eligibility, self.placed)
        if eligible.count:
            return eligible
        why = eligible.message()
        if len(constraints) > 1:
            why = f"members' node constraints differ, and no node suits all of them: {why}"
        ref = _unit(unit).gang_ref
        self.held_back[unit] = f"gang {ref.key}: {why}" if ref is not None else why
        return None

    def _conflict_key(self, pods: list[PodRecord]) -> tuple:
        return tuple((p.key, p.resource_version) for p in pods), self.eligibility

    def _check_partial(self, unit: str, now: float) -> None:
        uid = _unit(unit)
        ref = uid.gang_ref
        info = gang_object(self.gangs, ref) if ref is not None else None
        # Confirmed bindings only: a member being bound again must not restart the clock.
        bound = sum(1 for k in self._members.get(str(uid.bound), ())
                    if k in self.pods and self.pods[k].node)
        if info is not None and 0 < bound < info.min_member:
            self.partial_since.setdefault(unit, now)
        else:
            self.partial_since.pop(unit, None)

    def _job(self, unit: str, pods: list[PodRecord], running: bool,
             eligible_nodes: frozenset[str] | None, per_node: int | None = None) -> Job | None:
        """The core's job for *unit*'s pods (if pending, restricted to *eligible_nodes* and at
        most *per_node* tasks a node)."""
        first = pods[0]
        request = largest_request(p.request for p in pods)
        ours = not _unit(unit).is_other
        queue = first.queue if ours else UNMANAGED_QUEUE
        if running and ours and self.tree is not None:
            try:
                self.tree.leaf_of(queue)
            except InvalidSpec:
                queue = UNMANAGED_QUEUE  # its queue went away; it still holds capacity
            else:
                if self.queue_refusal(first.namespace, queue):  # relabelled while we were down
                    queue = UNMANAGED_QUEUE  # never charged to a queue it may not use
        types = first.gpu_types if all(p.gpu_types == first.gpu_types for p in pods) else ()
        try:
            return Job(id=unit, submit=max(0.0, min(p.created for p in pods)), tasks=len(pods),
                       gpu_milli=request.gpu_milli, cpu_milli=request.cpu_milli,
                       memory_mib=request.memory_mib, gpu_types=types,
                       priority=max(p.priority for p in pods), queue=queue, user=first.user,
                       name=first.job_name or first.name, preemptible=ours,
                       dataset=first.dataset, max_tasks_per_node=per_node,
                       node_rules=() if running else tuple(dict.fromkeys(
                           p.constraints for p in pods if p.constraints != NO_CONSTRAINTS)),
                       eligible_nodes=eligible_nodes)
        except InvalidSpec as exc:
            self.problems[unit] = str(exc)
            return None

    def _slot(self, pod: PodRecord, job: Job) -> Slot:
        """The GPUs *pod* holds on its node: known, recorded on the pod, or chosen free ones."""
        state = self.state
        assert state is not None
        node = self._node_of(pod)
        index = state.node_index[node]
        width = int(state.gpu_count[index])
        want = job.whole_gpus_per_task if job.gpu_milli >= MILLI else (1 if job.gpu_milli else 0)
        known = self.assumed.get(pod.key, (None, 0.0))[0] or self.slots.get(pod.key)
        if known is not None and known.node == node and len(known.gpus) == want and \
                all(g < width for g in known.gpus):
            return known
        recorded = pod.gpu_indices
        if len(recorded) == want and all(0 <= g < width for g in recorded):
            slot = Slot(node, recorded)
        else:
            free = state.gpu_free[index, :width]
            order = np.argsort(-free, kind="stable")  # the freest GPUs, lowest index first
            slot = Slot(node, tuple(int(g) for g in sorted(order[:want].tolist())))
        self.slots[pod.key] = slot
        return slot


_NONE = _InState((), False, 0.0)
_unit = functools.lru_cache(maxsize=1 << 16)(UnitId.parse)
"""A unit string's id, parsed once."""


def _discard(index: dict[str, set[str]], unit: str, key: str) -> None:
    members = index.get(unit)
    if members is not None:
        members.discard(key)
        if not members:
            del index[unit]


__all__ = ["ClusterCache"]
