"""The live dispatcher: submit once to the manager cluster, run in exactly one worker cluster.

A job for dispatch is a ``batch/v1`` Job in the manager cluster labelled
``dispatch.corral.dev/dispatch=true`` and created suspended, so the manager never runs it
itself (MultiKueue's arrangement). Each :meth:`Dispatcher.reconcile` pass, numbered as it runs:

1. read the workers (nodes, pods, our copies); one that does not answer is silent this pass;
2. read the dispatch Leases (:mod:`corral.dispatcher.dispatch_lease`) and the manager's Jobs;
3. per job, oldest first: a new one is claimed by creating its Lease for the least loaded
   worker it fits, and only then copied there; a held one whose worker answers has its copy
   made if missing (a restart between the two writes), its status mirrored to the manager's
   Job and its lease renewed once half of it has passed; a held one whose worker is silent
   keeps it until the lease (plus a grace for clock skew) has expired, then is re-dispatched
   under the next generation;
4. every copy whose Lease names another cluster or generation, or no longer exists, is
   withdrawn (deleted) from its worker as soon as that worker answers.

A copy fences itself: its ``activeDeadlineSeconds`` ends it when its lease ends unless the
dispatcher renews both, so a worker cut off from the dispatcher stops the job (its own Job
controller does) before the job can be re-dispatched. One copy holds a live lease at a time;
the Lease's generation tells the winning copy from one that lost a race.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from corral.dispatcher.dispatch_lease import (
    DISPATCHED,
    FAILED,
    FINISHED,
    GENERATION,
    JOB,
    ORIGIN,
    PHASE,
    RUNNING,
    SUCCEEDED,
    DispatchLease,
)
from corral.dispatcher.worker_clusters import (
    JOBS,
    WORKER_LABEL,
    WorkerCluster,
    WorkerView,
    gpu_count,
    job_gpus,
)
from corral.k8s.client import ApiError, KubeClient, resource_path

log = logging.getLogger(__name__)

DISPATCH_LABEL = "dispatch.corral.dev/dispatch"
STRIPPED_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
                   "batch.kubernetes.io/job-name")
"""Labels the manager's API server stamps on a Job's pod template; the worker stamps its own."""
LEASES = ("coordination.k8s.io", "v1", "leases")


@dataclass(frozen=True)
class DispatchSettings:
    """``lease_s``: how long a worker keeps a job without hearing from the dispatcher;
    ``grace_s``: extra wait before re-dispatching, for clock skew and a copy's start."""

    namespace: str = "corral-dispatch"
    lease_s: float = 120.0
    grace_s: float = 30.0


class Dispatcher:
    """Dispatches the manager's Jobs to worker clusters; all state lives in the manager."""

    def __init__(self, manager: KubeClient, settings: DispatchSettings,
                 clock: Callable[[], float]) -> None:
        self.manager = manager
        self.settings = settings
        self.clock = clock
        self.workers: dict[str, WorkerCluster] = {}

    async def reconcile(self) -> None:
        """One pass over every dispatched job (see the module docstring)."""
        now = self.clock()
        # 1. Workers, and what each holds.
        views = await self._read_workers()
        # 2. Leases and the manager's Jobs.
        leases = await self._leases()
        jobs = await self._manager_jobs()
        # 3. Each job, oldest first.
        for job in jobs:
            uid = job["metadata"]["uid"]
            try:
                leases[uid] = await self._one(job, leases.get(uid), views, now)
            except ApiError as exc:
                # One job's refusal (a lost race, a copy a worker rejects, a worker gone
                # mid-pass) never holds up the others; the job is retried next pass.
                log.info("job %s: %s; retried next pass", _key(job), exc)
                if exc.conflict:
                    leases.pop(uid, None)
        # 4. Withdraw every copy its Lease does not name (or whose manager Job is gone).
        present = {job["metadata"]["uid"] for job in jobs}
        live = {uid: lease for uid, lease in leases.items()
                if lease is not None and uid in present}
        for view in views.values():
            for uid, worker_copy in view.copies.items():
                lease = live.get(uid)
                if lease is None or lease.cluster != view.name or \
                        _generation(worker_copy) != lease.generation:
                    await self._withdraw(view.name, worker_copy)

    async def close(self) -> None:
        for worker in self.workers.values():
            await worker.close()

    # -- 1 and 2 -------------------------------------------------------------------------
    async def _read_workers(self) -> dict[str, WorkerView]:
        secrets = await self.manager.request(
            "GET", resource_path("", "v1", "secrets", self.settings.namespace))
        seen = set()
        for secret in secrets.get("items") or []:
            meta = secret.get("metadata") or {}
            if (meta.get("labels") or {}).get(WORKER_LABEL) != "true":
                continue
            name, version = str(meta.get("name")), str(meta.get("resourceVersion") or "")
            seen.add(name)
            known = self.workers.get(name)
            if known is None or known.version != version:
                if known is not None:
                    await known.close()
                try:
                    self.workers[name] = await WorkerCluster.from_secret(secret)
                except ApiError as exc:
                    self.workers.pop(name, None)
                    log.warning("%s", exc)
        for gone in set(self.workers) - seen:
            await self.workers.pop(gone).close()
        views = {}
        for name, worker in sorted(self.workers.items()):
            try:
                views[name] = await worker.read()
            except ApiError as exc:
                log.info("worker %s silent this pass: %s", name, exc)
        return views

    async def _leases(self) -> dict[str, DispatchLease | None]:
        found = await self.manager.request(
            "GET", resource_path(*LEASES, self.settings.namespace))
        leases: dict[str, DispatchLease | None] = {}
        for obj in found.get("items") or []:
            lease = DispatchLease.from_object(obj)
            if lease is not None:
                leases[lease.uid] = lease
        return leases

    async def _manager_jobs(self) -> list[dict[str, Any]]:
        found = await self.manager.request("GET", resource_path(*JOBS))
        jobs = [job for job in found.get("items") or []
                if ((job.get("metadata") or {}).get("labels") or {}).get(DISPATCH_LABEL)
                == "true" and (job.get("metadata") or {}).get("uid")]
        return sorted(jobs, key=lambda j: (j["metadata"].get("creationTimestamp") or "",
                                           _key(j)))

    # -- 3 -------------------------------------------------------------------------------
    async def _one(self, job: dict[str, Any], lease: DispatchLease | None,
                   views: Mapping[str, WorkerView], now: float) -> DispatchLease | None:
        settings = self.settings
        if lease is not None and lease.phase in FINISHED:
            return lease
        if lease is None:
            target = _least_loaded(job, views.values())
            if target is None:
                return None
            lease = DispatchLease(uid=job["metadata"]["uid"], job=_key(job), cluster=target,
                                  generation=1, until=now + settings.lease_s, phase=DISPATCHED)
            lease = await self._write_lease(lease, create=True)
            await self._copy(job, lease, views[target])
            return await self._mirror(job, lease)
        view = views.get(lease.cluster)
        if view is None:
            if now < lease.until + settings.grace_s:
                return lease  # silent: it keeps the job until the lease has expired
            return await self._redispatch(job, lease, views, now, avoid=lease.cluster)
        worker_copy = view.copies.get(lease.uid)
        if worker_copy is None or _generation(worker_copy) != lease.generation:
            if worker_copy is not None:
                await self._withdraw(view.name, worker_copy)
            await self._copy(job, lease, view)
            return lease
        phase = _phase(worker_copy)
        if phase == FAILED and _fenced(worker_copy):
            # Its own deadline stopped it: the lease lapsed, not the job.
            return await self._redispatch(job, lease, views, now, avoid=None)
        if phase == lease.phase and lease.until - now > settings.lease_s / 2:
            return lease  # renewed at half-life only: one write per job per half lease
        renewed = replace(lease, until=now + settings.lease_s, phase=phase)
        lease = await self._write_lease(renewed, create=False)
        if phase not in FINISHED:
            await self._fence(view.name, worker_copy, lease)
        return await self._mirror(job, lease)

    async def _redispatch(self, job: dict[str, Any], lease: DispatchLease,
                          views: Mapping[str, WorkerView], now: float,
                          avoid: str | None) -> DispatchLease:
        """The next generation of *lease*, on the least loaded worker (not *avoid*)."""
        target = _least_loaded(job, [v for v in views.values() if v.name != avoid])
        if target is None:
            return lease
        log.info("job %s: lease on %s expired; re-dispatching to %s", lease.job, lease.cluster,
                 target)
        moved = replace(lease, cluster=target, generation=lease.generation + 1,
                        until=now + self.settings.lease_s, phase=DISPATCHED)
        moved = await self._write_lease(moved, create=False)
        await self._copy(job, moved, views[target])
        return await self._mirror(job, moved)

    async def _write_lease(self, lease: DispatchLease, *, create: bool) -> DispatchLease:
        body = lease.to_object(self.settings.namespace, self.settings.lease_s)
        path = resource_path(*LEASES, self.settings.namespace)
        if create:
            written = await self.manager.request("POST", path, body=body)
        else:
            written = await self.manager.request(
                "PUT", resource_path(*LEASES, self.settings.namespace, f"job-{lease.uid}"),
                body=body)
        parsed = DispatchLease.from_object(written)
        return parsed if parsed is not None else lease

    async def _copy(self, job: dict[str, Any], lease: DispatchLease, view: WorkerView) -> None:
        """Create the worker's copy of *job* for *lease* (already there: nothing to do)."""
        body = worker_copy_of(job, lease, self.settings.lease_s)
        meta = body["metadata"]
        worker = self.workers[view.name]
        try:
            await worker.client.request("POST", resource_path(*JOBS, meta["namespace"]),
                                        body=body)
        except ApiError as exc:
            if exc.status != 409:
                raise
        view.copies[lease.uid] = body

    async def _fence(self, cluster: str, worker_copy: dict[str, Any],
                     lease: DispatchLease) -> None:
        """Move the copy's deadline to the new end of its lease."""
        started = _epoch((worker_copy.get("status") or {}).get("startTime"))
        if started is None:
            return
        meta = worker_copy["metadata"]
        deadline = max(1, int(lease.until - started))
        await self.workers[cluster].client.merge_patch(
            resource_path(*JOBS, meta["namespace"], meta["name"]),
            {"spec": {"activeDeadlineSeconds": deadline}})

    async def _withdraw(self, cluster: str, worker_copy: dict[str, Any]) -> None:
        meta = worker_copy["metadata"]
        log.info("withdrawing %s/%s from %s", meta.get("namespace"), meta.get("name"), cluster)
        try:
            await self.workers[cluster].client.request(
                "DELETE", resource_path(*JOBS, meta["namespace"], meta["name"]),
                query={"propagationPolicy": "Background"})
        except ApiError as exc:
            if not exc.not_found:
                raise

    async def _mirror(self, job: dict[str, Any], lease: DispatchLease) -> DispatchLease:
        """Show the dispatch on the manager's Job (annotations only: its status belongs to the
        manager's own Job controller)."""
        notes = (job["metadata"].get("annotations") or {})
        wanted = {PHASE: lease.phase, "dispatch.corral.dev/cluster": lease.cluster}
        if all(notes.get(k) == v for k, v in wanted.items()):
            return lease
        meta = job["metadata"]
        await self.manager.merge_patch(
            resource_path(*JOBS, meta["namespace"], meta["name"]),
            {"metadata": {"annotations": wanted}})
        return lease


def worker_copy_of(job: dict[str, Any], lease: DispatchLease, lease_s: float) -> dict[str, Any]:
    """The Job a worker runs for *job*: same name, namespace and spec, not suspended, labelled
    with its origin and generation, and fenced by a deadline at the end of its lease."""
    meta = job["metadata"]
    spec = copy.deepcopy(job.get("spec") or {})
    spec.pop("selector", None)
    spec.pop("manualSelector", None)
    spec["suspend"] = False
    spec["activeDeadlineSeconds"] = max(1, int(lease_s))
    template_meta = (spec.get("template") or {}).get("metadata") or {}
    for label in STRIPPED_LABELS:
        (template_meta.get("labels") or {}).pop(label, None)
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in STRIPPED_LABELS}
    labels[ORIGIN] = lease.uid
    labels.pop(DISPATCH_LABEL, None)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace") or "default",
                         "labels": labels,
                         "annotations": {GENERATION: str(lease.generation), JOB: lease.job}},
            "spec": spec}


def _least_loaded(job: dict[str, Any], views: Iterable[WorkerView]) -> str | None:
    """The answering worker with the most free GPUs that the Job's pods fit on, by name among
    equals; None if none fits."""
    gpus = job_gpus(job)
    spec = job.get("spec") or {}
    per_pod = gpus // max(1, gpu_count(spec.get("parallelism") or 1))
    fitting = [v for v in views if v.largest_node >= per_pod]
    if not fitting:
        return None
    return min(fitting, key=lambda v: (-v.free_gpus, v.name)).name


def _generation(worker_copy: dict[str, Any]) -> int:
    notes = (worker_copy.get("metadata") or {}).get("annotations") or {}
    try:
        return int(notes.get(GENERATION, 0))
    except (TypeError, ValueError):
        return 0


def _phase(worker_copy: dict[str, Any]) -> str:
    status = worker_copy.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") == "Complete":
            return SUCCEEDED
        if condition.get("status") == "True" and condition.get("type") == "Failed":
            return FAILED
    return RUNNING if status.get("active") or status.get("startTime") else DISPATCHED


def _fenced(worker_copy: dict[str, Any]) -> bool:
    return any(c.get("type") == "Failed" and c.get("reason") == "DeadlineExceeded"
               for c in (worker_copy.get("status") or {}).get("conditions") or [])


def _epoch(stamp: Any) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _key(job: dict[str, Any]) -> str:
    meta = job.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"
