"""Where a job was dispatched, kept as a ``coordination.k8s.io`` Lease in the manager cluster.

One Lease per dispatched job, named after the manager Job's uid, in the dispatcher's own
namespace (tenants cannot write there, unlike their Job's annotations): ``holderIdentity`` is
the worker cluster, ``leaseTransitions`` the dispatch generation (one more per re-dispatch),
and annotations hold the expiry and the job's phase. Creating the Lease claims the job (a
second dispatcher gets 409); every later change is a replace with the read
``resourceVersion``, so of two writers racing one loses. The manager's API server is the only
store: a restarted dispatcher reads these Leases back and resumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

GROUP_PREFIX = "dispatch.corral.dev/"
JOB = GROUP_PREFIX + "job"
LEASE_UNTIL = GROUP_PREFIX + "lease-until"
PHASE = GROUP_PREFIX + "phase"
ORIGIN = GROUP_PREFIX + "origin"
"""Label on a worker's copy: the manager Job's uid."""
GENERATION = GROUP_PREFIX + "generation"
"""Annotation on a worker's copy: the dispatch generation it was created for."""

PENDING, DISPATCHED, RUNNING, SUCCEEDED, FAILED = (
    "Pending", "Dispatched", "Running", "Succeeded", "Failed")
FINISHED = (SUCCEEDED, FAILED)


@dataclass(frozen=True)
class DispatchLease:
    """A job's dispatch: to *cluster*, generation *generation*, valid until *until* (epoch s)."""

    uid: str
    job: str
    """namespace/name of the manager Job."""
    cluster: str
    generation: int
    until: float
    phase: str
    resource_version: str = ""

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> DispatchLease | None:
        """The record a Lease holds, or None for a Lease that is not one of ours or is
        malformed (never trusted further than its fields parse)."""
        meta = obj.get("metadata") or {}
        notes = meta.get("annotations") or {}
        spec = obj.get("spec") or {}
        name = str(meta.get("name") or "")
        if not name.startswith("job-") or JOB not in notes:
            return None
        try:
            until = float(notes.get(LEASE_UNTIL, "nan"))
            generation = int(spec.get("leaseTransitions", 0))
        except (TypeError, ValueError):
            return None
        if not math.isfinite(until) or generation < 1:
            return None
        return cls(uid=name[4:], job=str(notes[JOB]), cluster=str(spec.get("holderIdentity")),
                   generation=generation, until=until,
                   phase=str(notes.get(PHASE, DISPATCHED)),
                   resource_version=str(meta.get("resourceVersion") or ""))

    def to_object(self, namespace: str, lease_s: float) -> dict[str, Any]:
        """The Lease object (with ``resourceVersion`` when replacing a read one)."""
        meta: dict[str, Any] = {
            "name": f"job-{self.uid}", "namespace": namespace,
            "annotations": {JOB: self.job, LEASE_UNTIL: f"{self.until:.3f}",
                            PHASE: self.phase}}
        if self.resource_version:
            meta["resourceVersion"] = self.resource_version
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": {"holderIdentity": self.cluster, "leaseTransitions": self.generation,
                         "leaseDurationSeconds": max(1, math.ceil(lease_s))}}
