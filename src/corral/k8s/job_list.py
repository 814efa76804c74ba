"""What ``corral jobs`` lists live: one row per pod of Corral's, with why it waits.

A pure function of plain API objects (pods and Events), like :mod:`corral.k8s.status_report`,
so it is tested without a server. The user is the pod's namespace, the tenant the scheduler
charges; a label would let one tenant's pod pass for another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from corral.job_rows import JobRow
from corral.k8s import conventions as names
from corral.k8s.pods import pod_from_api
from corral.k8s.status_report import waiting_reasons
from corral.model import MILLI

PENDING = "pending"
RUNNING = "running"
FINISHED = {"Succeeded": "completed", "Failed": "failed"}


def live_job_rows(pod_objects: Iterable[Mapping[str, Any]],
                  event_objects: Iterable[Mapping[str, Any]], now: float,
                  scheduler_name: str = names.SCHEDULER_NAME) -> list[JobRow]:
    """Corral's pods, oldest first; a pending pod whose spec Corral cannot read says why."""
    waiting = waiting_reasons(event_objects)
    rows = []
    for obj in pod_objects:
        pod = pod_from_api(obj)
        if pod.scheduler != scheduler_name:
            continue
        if pod.finished:
            state, reason = FINISHED.get(pod.phase, pod.phase.lower()), ""
        elif pod.node:
            state, reason = RUNNING, "terminating" if pod.deleting else ""
        else:
            state = PENDING
            reason = (pod.error or waiting.get(pod.key) or pod.unschedulable_message
                      or "no decision yet")
        rows.append(JobRow(pod.key, state, reason, max(0.0, now - pod.created), pod.user,
                           pod.queue, pod.request.gpu_milli / MILLI,
                           pod.node, pod.gang.name if pod.gang else "", pod.created))
    return sorted(rows, key=lambda row: (row.submitted, row.job))

