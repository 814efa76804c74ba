"""List, then watch from the list's ``resourceVersion``; re-list when the watch cannot resume.

client-go's Reflector in a few lines: a watch ends normally after its server-side timeout and
is resumed from the last version seen (bookmarks keep that version fresh on quiet resources);
``410 Gone`` (the version is older than the server keeps) means events were missed, so the
whole collection is listed again and handed over as a replacement, from which the cache works
out what was deleted meanwhile. Connection errors back off exponentially (with jitter) up to
:data:`MAX_BACKOFF_S` and then resume the watch, re-listing only if that too fails with Gone.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

from corral.k8s.client import WATCH_TIMEOUT_S, ApiError, KubeClient

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
PAGE_SIZE = 500

ReplaceHandler = Callable[[list[dict[str, Any]]], None]
EventHandler = Callable[[str, dict[str, Any]], None]


class Reflector:
    """Keeps one collection (a REST path) mirrored into *on_replace* / *on_event*."""

    def __init__(self, client: KubeClient, path: str, name: str, *,
                 on_replace: ReplaceHandler, on_event: EventHandler,
                 on_change: Callable[[], None] = lambda: None,
                 on_relist: Callable[[str], None] = lambda _: None,
                 watch_timeout_s: int = WATCH_TIMEOUT_S) -> None:
        self.client = client
        self.path = path
        self.name = name
        self.on_replace = on_replace
        self.on_event = on_event
        self.on_change = on_change
        self.on_relist = on_relist
        self.watch_timeout_s = watch_timeout_s
        self.synced = asyncio.Event()
        """Set once the first list has been handed over."""
        self.resource_version = ""
        self.lists = 0

    async def run(self) -> None:
        """Mirror the collection until cancelled."""
        backoff = 0.5
        while True:
            try:
                if not self.resource_version:
                    await self._list()
                await self._watch()
                backoff = 0.5
            except _Gone:
                log.info("%s: watch from version %s is gone (410); re-listing", self.name,
                         self.resource_version)
                self.resource_version = ""
                self.on_relist(self.name)
            except ApiError as exc:
                if exc.gone:
                    self.resource_version = ""
                    self.on_relist(self.name)
                    continue
                log.warning("%s: %s; retrying in %.1fs", self.name, exc, backoff)
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(MAX_BACKOFF_S, backoff * 2)
            except (ValueError, KeyError) as exc:  # a garbled line: start from a clean list
                log.warning("%s: unreadable watch data (%s); re-listing", self.name, exc)
                self.resource_version = ""
                self.on_relist(self.name)

    async def _list(self) -> None:
        """List the collection, as client-go's reflector does: ``resourceVersion=0`` lets the
        API server answer from its watch cache rather than read every page from etcd (the
        answer may be a moment old; the watch that follows from its version brings the rest).
        Where the server pages it anyway, the further pages follow their continue token."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query: dict[str, Any] = {"limit": PAGE_SIZE}
            if token:
                query["continue"] = token
            else:
                query["resourceVersion"] = "0"
            page = await self.client.request("GET", self.path, query=query)
            items.extend(page.get("items") or ())
            meta = page.get("metadata") or {}
            token = meta.get("continue") or ""
            if not token:
                break
        self.resource_version = meta.get("resourceVersion") or ""
        self.lists += 1
        self.on_replace(items)
        self.synced.set()
        self.on_change()

    async def _watch(self) -> None:
        query = {"resourceVersion": self.resource_version, "allowWatchBookmarks": "true",
                 "timeoutSeconds": self.watch_timeout_s}
        async for event in self.client.watch(self.path, query):
            kind = event.get("type")
            obj: Mapping[str, Any] = event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise _Gone()
                raise ApiError(int(obj.get("code") or 0), str(obj.get("reason") or "Error"),
                               str(obj.get("message") or ""))
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if kind != "BOOKMARK":
                self.on_event(kind, dict(obj))
                self.on_change()
            if version:
                self.resource_version = version


class _Gone(Exception):
    """The watch's resourceVersion is too old: events were lost."""


async def served(client: KubeClient, group: str, version: str, plural: str) -> bool:
    """True when the API server serves *plural* in *group*/*version* (discovery)."""
    try:
        listing = await client.request("GET", f"/apis/{group}/{version}")
    except ApiError:
        return False
    return any(r.get("name") == plural for r in listing.get("resources") or ())
