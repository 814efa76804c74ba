"""An in-process Kubernetes API emulator: enough of the real REST API for the scheduler's tests.

It is an aiohttp server, so kubernetes_asyncio talks to it over real HTTP exactly as it talks
to a kube-apiserver. What it implements, with the API server's semantics:

- create / get / list (with ``limit`` and ``continue``) / replace / merge-patch / delete of any
  registered resource, cluster-scoped or namespaced, with a global ``resourceVersion`` and
  ``409 Conflict`` on a stale ``resourceVersion`` or an existing name; a strategic merge patch
  merges ``conditions`` lists by ``type`` (the one list strategy the scheduler relies on) and
  is otherwise a merge patch;
- watch from a ``resourceVersion``, replaying what happened since; a version older than the
  retained history answers a watch ``ERROR`` event with ``410 Gone`` (``compact()`` forces it);
- ``pods/binding`` (``409`` when the pod is already bound, ``404`` when it is gone),
  ``pods/eviction`` (``429`` when a PodDisruptionBudget forbids it), ``*/status``;
- discovery of the groups it serves (``GET /apis/<group>/<version>``);
- TokenReview and SubjectAccessReview from :attr:`Emulator.reviews` (:mod:`.reviews`).

Requests themselves are not authenticated. Not implemented: admission, field and label
selectors, server-side apply, graceful deletion (a deleted pod is gone at once, as if its
kubelet stopped it instantly).
Faults are injected with :attr:`Emulator.binding_faults` and :meth:`Emulator.drop_watches`.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from corral.k8s.testing.reviews import REVIEW_PATHS, Reviews


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


CORE_TYPES = (
    ResourceType("", "v1", "nodes", "Node", False),
    ResourceType("", "v1", "pods", "Pod", True),
    ResourceType("", "v1", "events", "Event", True),
    ResourceType("", "v1", "namespaces", "Namespace", False),
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False),
    ResourceType("corral.dev", "v1alpha1", "queues", "Queue", False),
    ResourceType("scheduling.x-k8s.io", "v1alpha1", "podgroups", "PodGroup", True),
)
"""Served by default: what the scheduler uses, with Corral's Queue and scheduler-plugins'
PodGroup as installed CRDs."""
UPSTREAM_PODGROUPS = ResourceType("scheduling.k8s.io", "v1alpha2", "podgroups", "PodGroup", True)
VOLCANO_PODGROUPS = ResourceType("scheduling.volcano.sh", "v1beta1", "podgroups", "PodGroup",
                                 True)

BindingFault = Callable[[str, str, str], int | None]
"""(namespace, pod, node) -> an HTTP status to fail the binding with, or None to let it be."""


@dataclass
class _Watcher:
    type: ResourceType
    namespace: str | None
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)


class Emulator:
    """The emulated API server; :meth:`start` it, point a client at :attr:`url`."""

    def __init__(self, types: tuple[ResourceType, ...] = CORE_TYPES,
                 history: int = 100_000) -> None:
        self.types = {(t.group, t.version, t.plural): t for t in types}
        self.store: dict[tuple[str, str, str], dict[tuple[str, str], dict[str, Any]]] = {
            key: {} for key in self.types}
        self._rv = itertools.count(1000)
        self.resource_version = next(self._rv)
        self._history: deque[tuple[int, ResourceType, str, bytes]] = deque(maxlen=history)
        self._oldest = self.resource_version
        self._watchers: list[_Watcher] = []
        self.binding_faults: list[BindingFault] = []
        self.bindings: list[tuple[str, str]] = []
        """Every successful binding: (namespace/pod, node), in order."""
        self.binding_conflicts = 0
        self.evictions: list[str] = []
        self.requests = 0
        self.reviews = Reviews()
        """Who each token is and what each user may do, for components that ask."""
        self.calls: set[tuple[str, str, str]] = set()
        """Every (API group, resource or resource/subresource, RBAC verb) requested, so tests
        can check the scheduler's roles allow exactly what it does."""
        self.runner: web.AppRunner | None = None
        self.url = ""

    # -- server -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=16 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
        self.url = f"http://{host}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        self.drop_watches()
        if self.runner is not None:
            await self.runner.cleanup()

    def drop_watches(self) -> None:
        """Close every open watch, as a load balancer or API server restart would."""
        for watcher in self._watchers:
            watcher.queue.put_nowait(None)
        self._watchers.clear()

    def compact(self) -> None:
        """Forget the event history: a watch resuming from an older version gets 410 Gone."""
        self._history.clear()
        self._oldest = self.resource_version

    # -- direct access (tests) ------------------------------------------------------------
    def type_of(self, group: str, version: str, plural: str) -> ResourceType:
        return self.types[(group, version, plural)]

    def create(self, obj: dict[str, Any], plural: str | None = None) -> dict[str, Any]:
        """Store a new object (as a POST would) and return it."""
        rtype = self._type_for(obj, plural)
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "default") if rtype.namespaced else ""
        return self._create(rtype, namespace, obj)

    def get(self, plural: str, name: str, namespace: str = "", group: str = "",
            version: str = "v1") -> dict[str, Any] | None:
        rtype = self.types[(group, version, plural)]
        return self.store[(group, version, plural)].get((namespace if rtype.namespaced else "",
                                                         name))

    def objects(self, plural: str, group: str = "", version: str = "v1") -> list[dict[str, Any]]:
        return list(self.store[(group, version, plural)].values())

    def update(self, obj: dict[str, Any], plural: str | None = None) -> dict[str, Any]:
        rtype = self._type_for(obj, plural)
        meta = obj["metadata"]
        key = (meta.get("namespace", "default") if rtype.namespaced else "", meta["name"])
        return self._write(rtype, key, obj, "MODIFIED")

    def delete(self, plural: str, name: str, namespace: str = "", group: str = "",
               version: str = "v1") -> None:
        rtype = self.types[(group, version, plural)]
        key = (namespace if rtype.namespaced else "", name)
        obj = self.store[(group, version, plural)].pop(key)
        self._emit(rtype, "DELETED", obj, bump=True)

    # -- storage --------------------------------------------------------------------------
    def _type_for(self, obj: dict[str, Any], plural: str | None) -> ResourceType:
        api_version, kind = obj.get("apiVersion", "v1"), obj.get("kind")
        group, _, version = api_version.rpartition("/")
        for rtype in self.types.values():
            if (rtype.group, rtype.version) == (group, version) and \
                    (rtype.plural == plural or rtype.kind == kind):
                return rtype
        raise KeyError(f"{api_version} {kind} is not served")

    def _create(self, rtype: ResourceType, namespace: str, obj: dict[str, Any]
                ) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if rtype.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        key = (namespace, meta["name"])
        bucket = self.store[(rtype.group, rtype.version, rtype.plural)]
        if key in bucket:
            raise _Refused(409, "AlreadyExists", f'{rtype.plural} "{meta["name"]}" already exists')
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = meta.get("creationTimestamp") or \
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        if rtype.plural == "pods":
            obj.setdefault("status", {}).setdefault("phase", "Pending")
            obj.setdefault("spec", {}).setdefault("schedulerName", "default-scheduler")
        return self._write(rtype, key, obj, "ADDED")

    def _write(self, rtype: ResourceType, key: tuple[str, str], obj: dict[str, Any],
               kind: str) -> dict[str, Any]:
        self.resource_version = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        self.store[(rtype.group, rtype.version, rtype.plural)][key] = obj
        self._emit(rtype, kind, obj, bump=False)
        return obj

    def _emit(self, rtype: ResourceType, kind: str, obj: dict[str, Any], *, bump: bool) -> None:
        if bump:
            self.resource_version = next(self._rv)
            obj = dict(obj, metadata=dict(obj["metadata"],
                                          resourceVersion=str(self.resource_version)))
        line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
        namespace = obj["metadata"].get("namespace", "")
        if len(self._history) == self._history.maxlen:
            self._oldest = self._history[0][0]
        self._history.append((self.resource_version, rtype, namespace, line))
        for watcher in self._watchers:
            if watcher.type is rtype and watcher.namespace in (None, namespace):
                watcher.queue.put_nowait(line)

    # -- HTTP -----------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        try:
            return await self._route(request)
        except _Refused as exc:
            return _status(exc.code, exc.reason, exc.message)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST" and request.path in REVIEW_PATHS:
            return web.json_response(self.reviews.answer(request.path, await request.json()),
                                     status=201)
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _Refused(404, "NotFound", f"{request.path} is not served")
        if not rest:
            return self._discovery(group, version)
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        rtype = self.types.get((group, version, rest[0]))
        if rtype is None:
            raise _Refused(404, "NotFound", f"the server could not find the requested resource "
                                            f"({request.path})")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        method = request.method
        self.calls.add((group, rtype.plural + (f"/{sub}" if sub else ""),
                        _verb(method, name, request.query.get("watch") in ("true", "1"))))
        if name is None:
            if method == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, rtype, namespace)
                return self._list(request, rtype, namespace)
            if method == "POST":
                body = await request.json()
                ns = namespace or body.get("metadata", {}).get("namespace") or "default"
                return web.json_response(self._create(rtype, ns if rtype.namespaced else "",
                                                      body), status=201)
            raise _Refused(405, "MethodNotAllowed", method)
        key = ((namespace or "default") if rtype.namespaced else "", name)
        bucket = self.store[(rtype.group, rtype.version, rtype.plural)]
        if sub == "binding" and rtype.plural == "pods" and method == "POST":
            return self._bind(key, bucket, await request.json())
        if sub == "eviction" and rtype.plural == "pods" and method == "POST":
            return self._evict(key, bucket)
        current = bucket.get(key)
        if current is None:
            raise _Refused(404, "NotFound", f'{rtype.plural} "{name}" not found')
        if method == "GET":
            return web.json_response(current)
        if method == "DELETE":
            del bucket[key]
            self._emit(rtype, "DELETED", current, bump=True)
            return web.json_response(current)
        body = await request.json()
        if method == "PUT":
            sent = body.get("metadata", {}).get("resourceVersion")
            if sent and sent != current["metadata"]["resourceVersion"]:
                raise _Refused(409, "Conflict", f'Operation cannot be fulfilled on {rtype.plural} '
                                                f'"{name}": the object has been modified')
            updated = copy.deepcopy(body)
            for kept in ("uid", "creationTimestamp", "namespace", "name"):
                if kept in current["metadata"]:
                    updated.setdefault("metadata", {})[kept] = current["metadata"][kept]
            if sub == "status":
                updated = dict(current, status=updated.get("status"))
            return web.json_response(self._write(rtype, key, updated, "MODIFIED"))
        if method == "PATCH":
            if "json-patch" in (request.content_type or ""):
                raise _Refused(415, "UnsupportedMediaType", "JSON patch is not emulated")
            if sub == "status":
                body = {"status": body.get("status")}
            strategic = "strategic-merge-patch" in (request.content_type or "")
            patched = _merge(copy.deepcopy(current), body, strategic=strategic)
            return web.json_response(self._write(rtype, key, patched, "MODIFIED"))
        raise _Refused(405, "MethodNotAllowed", method)

    def _discovery(self, group: str, version: str) -> web.Response:
        resources = [{"name": t.plural, "kind": t.kind, "namespaced": t.namespaced,
                      "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                     for t in self.types.values() if (t.group, t.version) == (group, version)]
        if not resources:
            raise _Refused(404, "NotFound", f"{group}/{version} is not served")
        return web.json_response({"kind": "APIResourceList",
                                  "groupVersion": f"{group}/{version}" if group else version,
                                  "resources": resources})

    def _list(self, request: web.Request, rtype: ResourceType, namespace: str | None
              ) -> web.Response:
        bucket = self.store[(rtype.group, rtype.version, rtype.plural)]
        items = [o for k, o in sorted(bucket.items()) if namespace in (None, k[0])]
        start = int(request.query.get("continue") or 0)
        limit = int(request.query.get("limit") or 0)
        meta: dict[str, Any] = {"resourceVersion": str(self.resource_version)}
        if limit and start + limit < len(items):
            meta["continue"] = str(start + limit)
            items = items[start:start + limit]
        else:
            items = items[start:]
        return web.json_response({"kind": f"{rtype.kind}List", "apiVersion": rtype.api_version,
                                  "metadata": meta, "items": items})

    async def _watch(self, request: web.Request, rtype: ResourceType, namespace: str | None
                     ) -> web.StreamResponse:
        since = int(request.query.get("resourceVersion") or self.resource_version)
        timeout = float(request.query.get("timeoutSeconds") or 1800)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        if since < self._oldest:
            gone = {"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410,
                "reason": "Expired", "message": f"too old resource version: {since} "
                                                f"({self._oldest})"}}
            await response.write(json.dumps(gone).encode() + b"\n")
            return response
        watcher = _Watcher(rtype, namespace)
        for rv, kind_type, ns, line in self._history:
            if rv > since and kind_type is rtype and namespace in (None, ns):
                watcher.queue.put_nowait(line)
        self._watchers.append(watcher)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    async with asyncio.timeout(left):
                        line = await watcher.queue.get()
                except TimeoutError:
                    break
                if line is None:
                    break
                chunk = [line]
                closing = False
                while not watcher.queue.empty():
                    more = watcher.queue.get_nowait()
                    if more is None:
                        closing = True
                        break
                    chunk.append(more)
                await response.write(b"".join(chunk))
                if closing:
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            if watcher in self._watchers:
                self._watchers.remove(watcher)
        return response

    def _bind(self, key: tuple[str, str], bucket: dict, body: dict[str, Any]) -> web.Response:
        pod = bucket.get(key)
        if pod is None:
            raise _Refused(404, "NotFound", f'pods "{key[1]}" not found')
        node = (body.get("target") or {}).get("name") or ""
        uid = (body.get("metadata") or {}).get("uid")
        for fault in self.binding_faults:
            code = fault(key[0], key[1], node)
            if code is not None:
                raise _Refused(code, "InjectedFault", f"binding {key[1]} refused (emulated)")
        if uid and uid != pod["metadata"]["uid"]:
            raise _Refused(409, "Conflict", f"pod {key[1]}: uid {uid} does not match")
        if pod.get("spec", {}).get("nodeName"):
            self.binding_conflicts += 1
            raise _Refused(409, "Conflict", f'pod {key[1]} is already assigned to node '
                                            f'"{pod["spec"]["nodeName"]}"')
        updated = copy.deepcopy(pod)
        updated["spec"]["nodeName"] = node
        annotations = (body.get("metadata") or {}).get("annotations")
        if annotations:  # as the API server does: a Binding's annotations land on the pod
            updated["metadata"]["annotations"] = {
                **(updated["metadata"].get("annotations") or {}), **annotations}
        status = updated.setdefault("status", {})
        status["conditions"] = [c for c in status.get("conditions") or ()
                                if c.get("type") != "PodScheduled"]
        status["conditions"].append({"type": "PodScheduled", "status": "True"})
        self._write(self.types[("", "v1", "pods")], key, updated, "MODIFIED")
        self.bindings.append((f"{key[0]}/{key[1]}", node))
        return _status(201, "", "", success=True)

    def _evict(self, key: tuple[str, str], bucket: dict) -> web.Response:
        pod = bucket.get(key)
        if pod is None:
            raise _Refused(404, "NotFound", f'pods "{key[1]}" not found')
        labels = pod["metadata"].get("labels") or {}
        for budget in self.store[("policy", "v1", "poddisruptionbudgets")].values():
            if budget["metadata"].get("namespace") != key[0]:
                continue
            match = ((budget.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            if not all(labels.get(k) == v for k, v in match.items()):
                continue
            if self._disruptions_allowed(budget, match) <= 0:
                raise _Refused(429, "TooManyRequests", "Cannot evict pod as it would violate "
                                                       "the pod's disruption budget.")
        del bucket[key]
        self._emit(self.types[("", "v1", "pods")], "DELETED", pod, bump=True)
        self.evictions.append(f"{key[0]}/{key[1]}")
        return _status(201, "", "", success=True)

    def _disruptions_allowed(self, budget: dict[str, Any], match: dict[str, str]) -> int:
        status = budget.get("status") or {}
        if "disruptionsAllowed" in status:
            return int(status["disruptionsAllowed"])
        namespace = budget["metadata"].get("namespace")
        healthy = sum(1 for (ns, _), p in self.store[("", "v1", "pods")].items()
                      if ns == namespace and p.get("spec", {}).get("nodeName")
                      and all((p["metadata"].get("labels") or {}).get(k) == v
                              for k, v in match.items()))
        spec = budget.get("spec") or {}
        if "minAvailable" in spec:
            return healthy - int(spec["minAvailable"])
        return int(spec.get("maxUnavailable", 1))


def _verb(method: str, name: str | None, watch: bool) -> str:
    """The RBAC verb of a request, as the API server's authorizer names it."""
    if method == "GET":
        return "get" if name else "watch" if watch else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        method, method.lower())


class _Refused(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def _status(code: int, reason: str, message: str, *, success: bool = False) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1",
                              "status": "Success" if success else "Failure",
                              "code": code, "reason": reason, "message": message}, status=code)


_LIST_MERGE_KEYS = {"conditions": "type"}
"""Lists a strategic merge patch merges element by element, and the field naming an element."""


def _merge(target: Any, patch: Any, *, strategic: bool = False) -> Any:
    """RFC 7386 JSON merge patch (``null`` deletes a key); with *strategic*, the lists of
    :data:`_LIST_MERGE_KEYS` are merged by their key as a strategic merge patch does."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif strategic and key in _LIST_MERGE_KEYS and isinstance(value, list) and \
                isinstance(target.get(key), list):
            by = _LIST_MERGE_KEYS[key]
            merged = list(target[key])
            for item in value:
                at = next((i for i, old in enumerate(merged)
                           if isinstance(old, dict) and old.get(by) == item.get(by)), None)
                if at is None:
                    merged.append(item)
                else:
                    merged[at] = _merge(merged[at], item, strategic=True)
            target[key] = merged
        else:
            target[key] = _merge(target.get(key), value, strategic=strategic)
    return target
