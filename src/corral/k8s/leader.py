"""Leader election on a ``coordination.k8s.io/v1`` Lease, so two replicas never both write.

The scheme is client-go's: the holder renews the Lease every *retry* seconds and gives up
leading if it has not renewed for *renew_deadline*; a candidate takes the Lease over only
after it has seen the same record unchanged for a whole *lease_duration*, measured on its own
clock (so clocks need not agree, only their rates). Every write carries the ``resourceVersion``
it read, so of two candidates racing for an expired Lease the API server lets exactly one win
(the other gets a ``409 Conflict``).

Three rules make "stops before another may start" hold when a replica is paused (SIGSTOP, a
long garbage collection, a starved node) or a reply is slow, where client-go's own timing does
not:

- a renewal counts from the clock reading taken *before* its first request was sent, never
  from when the reply arrives, and a reply that comes after *renew_deadline* of that reading
  makes no one leader. The record the API server stores is at least as new as that reading, and
  a candidate starts counting only once it has read the record, so the holder's deadline falls
  at least ``lease_duration - renew_deadline`` before any candidate may take over;
- a replica that reads the Lease and finds another holder, or any record other than the one it
  last wrote, or whose update is refused with ``409``, steps down at once;
- :meth:`LeaderElector.allows_write` is the client's write fence, asked just before every write
  is sent (not once per cycle), so work queued before a pause cannot go out after it.

kubernetes_asyncio ships ``kubernetes_asyncio.leaderelection``, but it times a renewal from the
reply, on the wall clock, and offers a callback task instead of a check before each write (a
leader keeps acting until its renew loop gives up), so it does not serve here.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from corral.k8s.client import ApiError, KubeClient, resource_path

log = logging.getLogger(__name__)

Record = tuple[Any, ...]
"""What identifies one write of the Lease: holder, acquire and renew times, transitions."""


class LeaderElector:
    """Acquires and renews one Lease; :meth:`is_leader` and :meth:`allows_write` say whether this
    replica may write now."""

    def __init__(self, client: KubeClient, identity: str, *, namespace: str, name: str,
                 lease_duration: float = 15.0, renew_deadline: float = 10.0,
                 retry: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not retry < renew_deadline < lease_duration:
            raise ValueError("need retry < renew_deadline < lease_duration")
        self.client = client
        self.identity = identity
        self.path = resource_path("coordination.k8s.io", "v1", "leases", namespace)
        self.name = name
        self.lease_path = resource_path("coordination.k8s.io", "v1", "leases", namespace, name)
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry = retry
        self.clock = clock
        self._renewed_at: float | None = None
        """Clock reading taken before the requests of the last renewal that succeeded in time."""
        self._written: Record | None = None
        """The record of our last successful write, as the API server stored it."""
        self._sent_renew: str | None = None
        """The renew time of the last write we sent (its reply may have been lost)."""
        self._observed: tuple[Record, float] | None = None
        self._reported = False
        self.changed = asyncio.Event()
        """Set whenever leadership is gained or lost (noticed at the end of a round)."""

    def is_leader(self) -> bool:
        """True while the last renewal was *sent* less than *renew_deadline* ago and no other
        holder has been seen since."""
        return self._renewed_at is not None and \
            self.clock() - self._renewed_at < self.renew_deadline

    def allows_write(self, method: str, path: str) -> bool:
        """The write fence (:attr:`KubeClient.write_fence`): requests on the Lease itself
        always pass, every other write only while this replica leads."""
        return path in (self.lease_path, self.path) or self.is_leader()

    async def run(self) -> None:
        """Try to acquire, then keep renewing, until cancelled (then release the Lease)."""
        try:
            while True:
                await self.renew_once()
                await asyncio.sleep(self.retry)
        finally:
            if self._written is not None:
                await asyncio.shield(self._release())

    async def renew_once(self) -> None:
        """One round: read the Lease, then renew it, take it over, or wait."""
        sent = self.clock()
        try:
            renewed = await self._try_acquire_or_renew()
        except ApiError as exc:
            log.warning("lease %s: %s", self.name, exc)
            renewed = False
        except Exception:  # a broken reply must not end the elector: the next round retries
            log.exception("lease %s: round failed", self.name)
            renewed = False
        if renewed:
            late = self.clock() - sent
            if late < self.renew_deadline:
                self._renewed_at = sent
            else:
                log.warning("lease %s: renewal answered %.1fs after it was sent, past the %gs "
                            "deadline; not leading on it", self.name, late, self.renew_deadline)
        leading = self.is_leader()
        if leading != self._reported:
            self._reported = leading
            log.info("%s %s leadership of lease %s", self.identity,
                     "acquired" if leading else "lost", self.name)
            self.changed.set()

    def _step_down(self, why: str) -> None:
        if self._renewed_at is not None:
            log.warning("%s steps down from lease %s: %s", self.identity, self.name, why)
        self._renewed_at = None
        self._written = None

    async def _try_acquire_or_renew(self) -> bool:
        now_text = _micro_time()
        timeout = self.renew_deadline  # a later answer cannot make us leader anyway
        try:
            lease = await self.client.request("GET", self.lease_path, timeout=timeout)
        except ApiError as exc:
            if not exc.not_found:
                raise
            self._step_down("the Lease is gone")
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name},
                    "spec": self._spec(now_text, now_text, transitions=0)}
            self._sent_renew = now_text
            try:
                created = await self.client.request("POST", self.path, body=body,
                                                    timeout=timeout)
            except ApiError as create:
                if create.conflict:
                    return False
                raise
            self._written = _record(created)
            return True
        record = _record(lease)
        holder = record[0]
        # Ours: our name and a renew time we wrote. After a restart we know none, and a record
        # in our name is taken as ours (client-go's rule); after that, a record in our name
        # that we did not write has another writer (a second replica given the same identity).
        known = {self._sent_renew, self._written[2] if self._written else None} - {None}
        mine = holder == self.identity and (not known or record[2] in known)
        if self._written is not None and record != self._written:
            self._step_down(f"the Lease was written by {holder or 'no one'} since")
        now = self.clock()
        if self._observed is None or self._observed[0] != record:
            self._observed = (record, now)
        spec = lease.get("spec") or {}
        if holder and not mine:
            duration = spec.get("leaseDurationSeconds") or self.lease_duration
            if now - self._observed[1] < duration:
                return False
        transitions = int(spec.get("leaseTransitions") or 0)
        acquire = spec.get("acquireTime") or now_text
        if not mine:
            transitions += 1
            acquire = now_text
        lease["spec"] = self._spec(acquire, now_text, transitions)
        self._sent_renew = now_text
        try:
            updated = await self.client.request("PUT", self.lease_path, body=lease,
                                                timeout=timeout)
        except ApiError as exc:
            if exc.conflict:
                self._step_down("another replica updated the Lease first")
                return False
            raise
        self._written = _record(updated)
        return True

    def _spec(self, acquire: str, renew: str, transitions: int) -> dict[str, Any]:
        # rounded up: a candidate reading whole seconds must never wait less than we lead
        return {"holderIdentity": self.identity,
                "leaseDurationSeconds": math.ceil(self.lease_duration),
                "acquireTime": acquire, "renewTime": renew, "leaseTransitions": transitions}

    async def _release(self) -> None:
        """Give the Lease up on a clean shutdown so a standby takes over at once."""
        self._renewed_at = None
        self._written = None
        try:
            lease = await self.client.request("GET", self.lease_path)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = ""
            lease["spec"]["leaseDurationSeconds"] = 1
            await self.client.request("PUT", self.lease_path, body=lease)
        except ApiError as exc:
            log.info("lease %s not released: %s", self.name, exc)


def _record(lease: dict[str, Any]) -> Record:
    spec = lease.get("spec") or {}
    return (spec.get("holderIdentity") or "", spec.get("acquireTime"), spec.get("renewTime"),
            spec.get("leaseTransitions"))


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
