"""Cancel, hold and resume jobs the way Kubernetes users already do it.

A name is a batch Job or a pod. Cancel deletes it (a Job with its pods, in the background as
``kubectl delete job`` does). Hold and resume set the Job's ``spec.suspend``, the switch
Kueue and the Job controller honour: a held Job's pods are removed and it keeps its place
until resumed. A bare pod cannot be suspended in Kubernetes (its scheduling gates may only be
removed, never added), so holding one is refused with what to do instead.
"""

from __future__ import annotations

from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.model import ConfigError

JOBS = ("batch", "v1", "jobs")


async def cancel(client: KubeClient, namespace: str, name: str) -> str:
    """Delete Job *name*, else pod *name*; return what was deleted (``job ns/name``)."""
    for kind, (group, version, plural) in (("job", JOBS), ("pod", ("", "v1", "pods"))):
        try:
            await client.request("DELETE", resource_path(group, version, plural, namespace, name),
                                 body={"propagationPolicy": "Background"})
        except ApiError as exc:
            if exc.not_found:
                continue
            raise
        return f"{kind} {namespace}/{name}"
    raise ConfigError(f"no Job or pod named {name} in namespace {namespace}")


async def suspend(client: KubeClient, namespace: str, name: str, held: bool) -> str:
    """Set Job *name*'s ``spec.suspend`` to *held*; a bare pod is refused."""
    group, version, plural = JOBS
    try:
        await client.merge_patch(resource_path(group, version, plural, namespace, name),
                                 {"spec": {"suspend": held}})
    except ApiError as exc:
        if not exc.not_found:
            raise
        try:
            await client.request("GET", resource_path("", "v1", "pods", namespace, name))
        except ApiError as missing:
            if missing.not_found:
                raise ConfigError(f"no Job named {name} in namespace {namespace}") from None
            raise
        raise ConfigError(f"{namespace}/{name} is a bare pod: Kubernetes suspends Jobs, not "
                          "pods; run it as a Job to hold it, or cancel it") from None
    return f"job {namespace}/{name}"
