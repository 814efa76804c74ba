"""What ``corral status`` prints: queues, their use against quota, and why jobs wait.

Computed from the API server alone (Queue objects, pods, and the scheduler's own Events), so
it needs only the user's kubeconfig, not a route to the scheduler. Use is what bound pods of
Corral's hold, by queue label (pods without one under the Queue marked ``default``); the reason
a pod waits is the newest ``CorralWaiting`` or ``CorralInvalidSpec`` Event about it, else
(Events expire, an hour by default) the message of its ``PodScheduled=False`` condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.k8s import conventions as names
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.pods import pod_from_api
from corral.k8s.queue_crd import queue_from_api
from corral.model import DEFAULT_QUEUE, GPU, MILLI, InvalidSpec

_REASONS = (names.EVENT_WAITING, names.EVENT_BAD_SPEC)
NO_QUEUE = "(no queue)"
"""The row of pods that name no queue where no Queue is the default one."""


@dataclass
class QueueRow:
    name: str
    quota_gpus: float | None
    borrowing_gpus: float | None
    used_gpus: float = 0.0
    running_pods: int = 0
    pending_pods: int = 0


@dataclass
class StatusReport:
    queues: list[QueueRow]
    reasons: list[tuple[str, int, str]] = field(default_factory=list)
    """(reason message, pods waiting for it, one example pod), most pods first."""


def summarise(queue_objects: Iterable[Mapping[str, Any]], pod_objects: Iterable[Mapping[str, Any]],
              event_objects: Iterable[Mapping[str, Any]],
              scheduler_name: str = names.SCHEDULER_NAME) -> StatusReport:
    """The report from plain API objects (a pure function, so it is tested without a server)."""
    rows: dict[str, QueueRow] = {}
    default_leaf = NO_QUEUE
    for obj in queue_objects:
        try:
            read = queue_from_api(obj)
        except InvalidSpec:
            continue
        queue = read.queue
        if read.default:
            default_leaf = queue.name
        limit = (queue.borrowing_limit or {}).get(GPU)
        rows[queue.name] = QueueRow(queue.name, queue.quota.get(GPU, 0) / MILLI
                                    if GPU in queue.quota else None,
                                    None if limit is None else limit / MILLI)
    waiting = waiting_reasons(event_objects)
    reasons: dict[str, list[str]] = {}
    for obj in pod_objects:
        pod = pod_from_api(obj)
        if pod.scheduler != scheduler_name or pod.finished:
            continue
        name = pod.queue
        if name not in rows and name == DEFAULT_QUEUE:  # no queue label: the default Queue's
            name = default_leaf
        row = rows.get(name)
        if row is None:
            row = rows[name] = QueueRow(name, None, None)
        if pod.node:
            row.running_pods += 1
            held = pod.request if pod.booked is None else pod.booked[0]
            row.used_gpus += held.gpu_milli / MILLI
        else:
            row.pending_pods += 1
            reason = waiting.get(pod.key) or pod.unschedulable_message or "no decision yet"
            reasons.setdefault(reason, []).append(pod.key)
    ordered = sorted(rows.values(), key=lambda r: (r.name == NO_QUEUE, r.name))
    return StatusReport(ordered, sorted(((m, len(p), p[0]) for m, p in reasons.items()),
                                        key=lambda r: (-r[1], r[0])))


def waiting_reasons(event_objects: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``namespace/name`` of each pod to the message of the newest Event saying why it waits."""
    waiting: dict[str, str] = {}
    latest: dict[str, str] = {}
    for event in event_objects:
        if event.get("reason") not in _REASONS:
            continue
        involved = event.get("involvedObject") or {}
        if involved.get("kind") != "Pod":
            continue
        key = f"{involved.get('namespace')}/{involved.get('name')}"
        stamp = event.get("lastTimestamp") or event.get("eventTime") or ""
        if stamp >= latest.get(key, ""):
            latest[key] = stamp
            waiting[key] = event.get("message") or ""
    return waiting


async def cluster_status(client: KubeClient,
                         scheduler_name: str = names.SCHEDULER_NAME) -> StatusReport:
    """List what :func:`summarise` needs from the API server."""
    group, version, plural = names.QUEUE_API
    try:
        queues = (await client.request("GET", resource_path(group, version, plural)))["items"]
    except ApiError as exc:
        if not exc.not_found:
            raise
        queues = []
    pods = (await client.request("GET", resource_path("", "v1", "pods")))["items"]
    events = (await client.request("GET", resource_path("", "v1", "events")))["items"]
    return summarise(queues, pods, events, scheduler_name)
