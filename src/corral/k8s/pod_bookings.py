"""What an admitted pod holds, fixed at admission whatever its owner later writes on it.

Once a pod is assumed or seen bound, its request, GPU indices, queue and gang are *booked*:
labels and annotations are the tenant's to edit, and an edit must not change what the
scheduler counts the pod as holding. An edit is noted, to be reported, and ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from corral.k8s import conventions as names
from corral.k8s.placed_pods import PlacedPod
from corral.k8s.pods import PodRecord
from corral.model import MILLI


def booked(bookings: dict[str, PodRecord], edits_ignored: dict[str, str], key: str,
           pod: PodRecord, ours: Callable[[PodRecord], bool]) -> PodRecord:
    """*pod* as it was admitted: once assumed or seen bound, what it holds (its request, GPU
    indices, queue and gang) is fixed, whatever its owner later writes in its labels and
    annotations; an edit is noted in *edits_ignored* (reported as a Warning Event).
    A pod first seen bound (a restart) is booked with the share the scheduler recorded on
    its status, which tenants cannot write, or else as it reads then."""
    booking = bookings.get(key)
    if booking is None or booking.uid != pod.uid:
        if booking is not None:
            del bookings[key]
        if not pod.node or not ours(pod) or pod.finished:
            return pod
        booking = pod if pod.booked is None else dataclasses.replace(
            pod, request=pod.booked[0], gpu_indices=pod.booked[1], error="")
        bookings[key] = booking
    edited = [name for name, was, now in (
        ("GPU request", booking.request, pod.request),
        (names.GPU_INDEX, booking.gpu_indices, pod.gpu_indices),
        ("queue", booking.queue, pod.queue), ("gang", booking.gang, pod.gang))
        if was != now]
    if edited:
        edits_ignored[key] = (
            f"pod {key}: edit of its {', '.join(edited)} ignored; it keeps what it was "
            f"admitted with ({_booking_text(booking)})")
    return dataclasses.replace(pod, request=booking.request, error=booking.error,
                               gpu_indices=booking.gpu_indices, queue=booking.queue,
                               gang=booking.gang)


def _booking_text(pod: PodRecord) -> str:
    request = pod.request
    gpus = f"{request.gpu_milli / MILLI:g} GPU" if request.gpu_milli else "no GPU"
    if pod.gpu_indices:
        gpus += f" (GPU {','.join(map(str, pod.gpu_indices))})"
    return f"{gpus}, queue {pod.queue}"


def placed_pod(pod: PodRecord, node: str) -> PlacedPod:
    """*pod* on *node*, as the pod-rule index holds it."""
    return PlacedPod(pod.key, pod.namespace, pod.labels, node, pod.deleting,
                     pod.rules.anti_affinity if pod.rules is not None else ())


def differs(old: PodRecord, new: PodRecord) -> bool:
    """True when a pod changed in a way the state or the placed-pod index sees (not just its
    resourceVersion)."""
    return (old.node, old.phase, old.deleting, old.request, old.error, old.gang, old.queue,
            old.priority, old.gpu_types, old.scheduler, old.gpu_indices, old.constraints,
            old.rules, old.labels) != \
        (new.node, new.phase, new.deleting, new.request, new.error, new.gang, new.queue,
         new.priority, new.gpu_types, new.scheduler, new.gpu_indices, new.constraints,
         new.rules, new.labels)
