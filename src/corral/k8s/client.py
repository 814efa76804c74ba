"""A thin async client for the few calls the scheduler makes, over kubernetes_asyncio.

kubernetes_asyncio loads the kubeconfig or in-cluster credentials, signs requests (tokens,
client certificates, exec plugins) and pools connections; the scheduler sends and reads plain
JSON through it rather than its generated models, because turning every watched Pod into
model objects costs more CPU than the rest of a scheduling cycle. Every refused call raises
:class:`ApiError` with the HTTP status, so callers can treat ``409 Conflict`` and ``404`` as
the ordinary outcomes they are.

A client may carry a *write fence* (:attr:`KubeClient.write_fence`), asked immediately before
every request that is not a GET: the live scheduler installs its leader elector there, so no
writer, present or future, can send a bind, eviction, patch or Event while this replica does
not hold the Lease. A write it stops raises :class:`WriteRefused`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config
from yarl import URL

from corral.model import CorralError

REQUEST_TIMEOUT_S = 30.0
WATCH_TIMEOUT_S = 300
"""Server-side length of one watch request; the reflector re-watches from the last version."""
WATCH_BUFFER_BYTES = 2**21
"""Read buffer of the HTTP session, as kubernetes_asyncio sizes it (a watch event carries a
whole object, up to etcd's 1.5 MiB)."""
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
"""Merges lists by their key (a pod's ``conditions`` by ``type``), where a merge patch would
replace the whole list."""


class ApiError(CorralError):
    """The API server answered with an error status (or could not be reached, or the request
    was not sent: status 0)."""

    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def gone(self) -> bool:
        return self.status == 410


class WriteRefused(ApiError):
    """A write the client's fence did not send: this replica does not lead now. Status 0, as an
    unreachable server, so every caller already treats it as a write that did not happen."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(0, "NotLeader", f"{method} {path} not sent: this replica does not "
                                         "hold the Lease now")


WriteFence = Callable[[str, str], bool]
"""(method, path) -> whether that write may be sent now."""


def resource_path(group: str, version: str, plural: str, namespace: str | None = None,
                  name: str | None = None, subresource: str | None = None) -> str:
    """The REST path of a collection, object or subresource (core group when *group* is '')."""
    path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    if namespace is not None:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{plural}"
    if name is not None:
        path += f"/{quote(name, safe='')}"
    if subresource is not None:
        path += f"/{subresource}"
    return path


class KubeClient:
    """JSON in, JSON out, over one pooled kubernetes_asyncio :class:`ApiClient`."""

    def __init__(self, api: k8s_client.ApiClient) -> None:
        self.api = api
        self.write_fence: WriteFence | None = None
        """Asked immediately before every non-GET request is sent; None lets every write go."""

    @classmethod
    async def connect(cls, kubeconfig: str | None = None, *, in_cluster: bool = False,
                      context: str | None = None, pool_size: int = 256) -> KubeClient:
        """A client from a kubeconfig file (default: ``$KUBECONFIG``, ``~/.kube/config``) or the
        pod's service account."""
        configuration = k8s_client.Configuration()
        if in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            await k8s_config.load_kube_config(config_file=kubeconfig, context=context,
                                              client_configuration=configuration)
        configuration.connection_pool_maxsize = pool_size
        return cls(_api_client(configuration))

    @classmethod
    def for_url(cls, url: str, token: str = "", pool_size: int = 256) -> KubeClient:
        """A client for a plain-HTTP API server (the in-process emulator in tests)."""
        configuration = k8s_client.Configuration(host=url)
        if token:
            configuration.api_key = {"BearerToken": token}
            configuration.api_key_prefix = {"BearerToken": "Bearer"}
        configuration.connection_pool_maxsize = pool_size
        return cls(_api_client(configuration))

    async def close(self) -> None:
        await self.api.close()

    async def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      timeout: float = REQUEST_TIMEOUT_S, answer: bool = True) -> dict[str, Any]:
        """Send one request; the decoded JSON answer (``{}`` without *answer*: a success's body
        is then not decoded), or ApiError (WriteRefused when the write fence stops it)."""
        if method != "GET" and self.write_fence is not None and \
                not self.write_fence(method, path):
            raise WriteRefused(method, path)
        response = await self._send(method, path, query, body, content_type,
                                    aiohttp.ClientTimeout(total=timeout))
        try:
            data = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ApiError(0, "Unreachable", f"{method} {path}: {exc}") from None
        finally:
            response.release()
        if not answer and 200 <= response.status < 300:
            return {}
        decoded = _decode(data)
        if not 200 <= response.status < 300:
            raise ApiError(response.status, str(decoded.get("reason") or response.reason),
                           str(decoded.get("message") or ""))
        return decoded

    async def watch(self, path: str, query: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Watch events (``{"type", "object"}``) of one watch request, as they arrive."""
        response = await self._send("GET", path, {**query, "watch": "true"}, None,
                                    "application/json",
                                    aiohttp.ClientTimeout(total=None, sock_read=None,
                                                          connect=REQUEST_TIMEOUT_S))
        try:
            if response.status != 200:
                decoded = _decode(await response.read())
                raise ApiError(response.status, str(decoded.get("reason") or response.reason),
                               str(decoded.get("message") or ""))
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                while (end := buffer.find(b"\n")) >= 0:
                    line, buffer = buffer[:end], buffer[end + 1:]
                    if line.strip():
                        yield orjson.loads(line)
            if buffer.strip():
                yield orjson.loads(buffer)
        finally:
            response.release()
            response.close()

    # -- the calls the scheduler makes ----------------------------------------------------
    async def bind(self, namespace: str, name: str, node: str, uid: str = "",
                   annotations: Mapping[str, str] | None = None) -> None:
        """Bind a pod to *node* through the ``pods/binding`` subresource; the API server copies
        the Binding's *annotations* onto the pod in the same write."""
        meta: dict[str, Any] = {"name": name, "namespace": namespace}
        if uid:
            meta["uid"] = uid
        if annotations:
            meta["annotations"] = dict(annotations)
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        await self.request("POST", resource_path("", "v1", "pods", namespace, name, "binding"),
                           body=body, answer=False)

    async def evict(self, namespace: str, name: str, grace_seconds: int) -> None:
        """Evict a pod through the Eviction API (``policy/v1``), which honours its
        PodDisruptionBudgets (429 when one forbids it)."""
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": name, "namespace": namespace},
                "deleteOptions": {"gracePeriodSeconds": grace_seconds}}
        await self.request("POST", resource_path("", "v1", "pods", namespace, name, "eviction"),
                           body=body)

    async def merge_patch(self, path: str, patch: Mapping[str, Any], *,
                          strategic: bool = False) -> dict[str, Any]:
        """A JSON merge patch, or with *strategic* a strategic merge patch."""
        return await self.request("PATCH", path, body=dict(patch),
                                  content_type=STRATEGIC_MERGE_PATCH if strategic else MERGE_PATCH)

    async def _send(self, method: str, path: str, query: Mapping[str, Any] | None, body: Any,
                    content_type: str, timeout: aiohttp.ClientTimeout) -> Any:
        """One HTTP request on the ApiClient's pooled session, its credentials from the
        configuration (refreshed by its hook: exec plugins, expiring tokens; client certificates
        are in the session's TLS context). The generated client's own request path copies and
        re-encodes every body and costs about as much CPU as the rest of a binding."""
        configuration = self.api.configuration
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        for auth in (await configuration.auth_settings()).values():
            if auth.get("value"):
                headers[auth["key"]] = auth["value"]
        rest = self.api.rest_client
        extra: dict[str, Any] = {}
        if rest.server_hostname:
            extra["server_hostname"] = rest.server_hostname
        if rest.proxy:
            extra["proxy"] = rest.proxy
            if rest.proxy_headers:
                extra["proxy_headers"] = rest.proxy_headers
        try:
            return await rest.pool_manager.request(
                method, configuration.host + path,
                params=[(k, str(v)) for k, v in (query or {}).items()] or None,
                data=None if body is None else aiohttp.BytesPayload(
                    orjson.dumps(body), content_type=content_type),  # no type lookup
                headers=headers,
                timeout=timeout, **extra)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ApiError(0, "Unreachable", f"{method} {path}: {exc}") from None


def _api_client(configuration: k8s_client.Configuration) -> k8s_client.ApiClient:
    """An ApiClient whose HTTP session reads no proxy or netrc settings per request.

    kubernetes_asyncio's session trusts the environment, and aiohttp then parses the proxy
    variables and ``~/.netrc`` on every request (the netrc read in a worker thread): measured
    against a real API server, more CPU than the rest of a binding. The environment's proxy for
    the API server is looked up once here instead (``HTTPS_PROXY``, ``NO_PROXY``), unless the
    kubeconfig names one.
    """
    if not configuration.proxy:
        with contextlib.suppress(LookupError):
            found = aiohttp.helpers.get_env_proxy_for_url(URL(configuration.host))
            configuration.proxy = str(found[0])
    api = k8s_client.ApiClient(configuration)
    rest = api.rest_client
    trusting = rest.pool_manager
    rest.pool_manager = aiohttp.ClientSession(connector=trusting.connector, trust_env=False,
                                              read_bufsize=WATCH_BUFFER_BYTES)
    trusting.detach()  # the connector now belongs to the new session alone
    return api


def _decode(data: bytes) -> dict[str, Any]:
    if not data:
        return {}
    try:
        value = orjson.loads(data)
    except ValueError:
        return {"message": data[:200].decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"items": value}
