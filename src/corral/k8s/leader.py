"""Leader election on a ``coordination.k8s.io/v1`` Lease, so two replicas never both bind.

The algorithm is client-go's: the holder renews the Lease every *retry* seconds and gives up
leading if it has not renewed for *renew_deadline*; a candidate takes the Lease over only
after it has seen the same record unchanged for a whole *lease_duration*, measured on its own
clock (so clocks need not agree). Every write carries the ``resourceVersion`` it read, so of two
candidates racing for an expired Lease the API server lets exactly one win (the other gets a
``409 Conflict``). With renew_deadline < lease_duration, a leader stops binding before any
other replica may start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from corral.k8s.client import ApiError, KubeClient, resource_path

log = logging.getLogger(__name__)


class LeaderElector:
    """Acquires and renews one Lease; :meth:`is_leader` is what the applier checks."""

    def __init__(self, client: KubeClient, identity: str, *, namespace: str, name: str,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0,
                 retry: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not retry < renew_deadline < lease_duration:
            raise ValueError("need retry < renew_deadline < lease_duration")
        self.client = client
        self.identity = identity
        self.path = resource_path("coordination.k8s.io", "v1", "leases", namespace)
        self.name = name
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry = retry
        self.clock = clock
        self._renewed_at: float | None = None
        self._observed: tuple[Any, float] | None = None
        self.changed = asyncio.Event()
        """Set whenever leadership is gained or lost."""

    def is_leader(self) -> bool:
        """True while the last successful renewal is younger than *renew_deadline*."""
        return self._renewed_at is not None and \
            self.clock() - self._renewed_at < self.renew_deadline

    async def run(self) -> None:
        """Try to acquire, then keep renewing, until cancelled (then release the Lease)."""
        try:
            while True:
                was = self.is_leader()
                try:
                    if await self._try_acquire_or_renew():
                        self._renewed_at = self.clock()
                except ApiError as exc:
                    log.warning("lease %s: %s", self.name, exc)
                if was != self.is_leader():
                    log.info("%s %s leadership of lease %s", self.identity,
                             "acquired" if not was else "lost", self.name)
                    self.changed.set()
                await asyncio.sleep(self.retry)
        finally:
            if self.is_leader():
                await asyncio.shield(self._release())

    async def _try_acquire_or_renew(self) -> bool:
        now_text = _micro_time()
        try:
            lease = await self.client.request("GET", f"{self.path}/{self.name}")
        except ApiError as exc:
            if not exc.not_found:
                raise
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name},
                    "spec": self._spec(now_text, now_text, transitions=0)}
            try:
                await self.client.request("POST", self.path, body=body)
            except ApiError as create:
                if create.conflict:
                    return False
                raise
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        record = (holder, spec.get("renewTime"), spec.get("leaseTransitions"))
        now = self.clock()
        if self._observed is None or self._observed[0] != record:
            self._observed = (record, now)
        if holder and holder != self.identity:
            duration = spec.get("leaseDurationSeconds") or self.lease_duration
            if now - self._observed[1] < duration:
                return False
        transitions = int(spec.get("leaseTransitions") or 0)
        acquire = spec.get("acquireTime") or now_text
        if holder != self.identity:
            transitions += 1
            acquire = now_text
        lease["spec"] = self._spec(acquire, now_text, transitions)
        try:
            await self.client.request("PUT", f"{self.path}/{self.name}", body=lease)
        except ApiError as exc:
            if exc.conflict:
                return False
            raise
        return True

    def _spec(self, acquire: str, renew: str, transitions: int) -> dict[str, Any]:
        return {"holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.lease_duration),
                "acquireTime": acquire, "renewTime": renew, "leaseTransitions": transitions}

    async def _release(self) -> None:
        """Give the Lease up on a clean shutdown so a standby takes over at once."""
        self._renewed_at = None
        try:
            lease = await self.client.request("GET", f"{self.path}/{self.name}")
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = ""
            lease["spec"]["leaseDurationSeconds"] = 1
            await self.client.request("PUT", f"{self.path}/{self.name}", body=lease)
        except ApiError as exc:
            log.info("lease %s not released: %s", self.name, exc)


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
