"""Who may read ``/metrics`` and ``/status``: kube-scheduler's secure serving, in small.

``/status`` names tenants' jobs and why they wait, and ``/metrics`` their queues' use, so
neither is open to whoever can reach the pod. By default the scheduler listens on loopback
only (:func:`check_exposure` refuses any other address without authentication). To expose
them, :class:`SecureServing` does what kube-scheduler's secure port does
(``k8s.io/apiserver``'s delegated authentication and authorization):

1. it serves over TLS, with the certificate and key given, or a self-signed pair made at
   start (as kube-scheduler makes one when none is given);
2. a request must carry a bearer token, which the API server checks with a TokenReview
   (``authentication.k8s.io/v1``): no token or a token it does not accept is ``401``;
3. the user the token names must be allowed ``get`` on the path as a non-resource URL, which
   the API server answers with a SubjectAccessReview (``authorization.k8s.io/v1``): ``403``
   otherwise. A Prometheus is granted it by a ClusterRole with
   ``nonResourceURLs: [/metrics]``.

``/healthz`` and ``/readyz`` stay open (kube-scheduler's ``authorization-always-allow-paths``),
so probes need no token; they say nothing about tenants. Answers are kept
:data:`CACHE_TTL_S` seconds (kube's delegating authenticator and authorizer cache theirs
too), so a scraper costs two reviews per ten seconds, not two per request; a review the API
server could not answer is refused and not kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from aiohttp import web

from corral.k8s.client import ApiError, KubeClient
from corral.model import ConfigError

log = logging.getLogger(__name__)

ALWAYS_ALLOWED = ("/healthz", "/readyz")
"""Paths served to anyone who reaches the port."""
CACHE_TTL_S = 10.0
CACHE_ENTRIES = 4096
TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
CERT_DAYS = 365

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether *host* is a loopback address (or ``localhost``), reachable from this host only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, *, authenticated: bool) -> None:
    """Refuse to serve ``/metrics`` and ``/status`` beyond loopback without authentication."""
    if not authenticated and not is_loopback(host):
        raise ConfigError(
            f"--metrics-addr {host}: /metrics and /status would be open to anyone who can "
            "reach this address; listen on 127.0.0.1, or add --authenticate-metrics (TLS, "
            "a bearer token checked by the API server)")


@dataclass(frozen=True, slots=True)
class User:
    """Who a token belongs to, as the TokenReview answered."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class _Cache:
    """Answers kept for a while, at most :data:`CACHE_ENTRIES` of them."""

    ttl_s: float
    clock: Callable[[], float]
    entries: dict[object, tuple[float, object]] = field(default_factory=dict)

    def get(self, key: object) -> tuple[bool, object]:
        hit = self.entries.get(key)
        if hit is None or hit[0] <= self.clock():
            return False, None
        return True, hit[1]

    def put(self, key: object, value: object) -> None:
        if len(self.entries) >= CACHE_ENTRIES:
            now = self.clock()
            self.entries = {k: v for k, v in self.entries.items() if v[0] > now}
            if len(self.entries) >= CACHE_ENTRIES:
                self.entries.clear()
        self.entries[key] = (self.clock() + self.ttl_s, value)


class DelegatedAuth:
    """Authentication by TokenReview and authorization by SubjectAccessReview, both asked of
    the API server through *client* (the scheduler's own service account)."""

    def __init__(self, client: KubeClient, *, ttl_s: float = CACHE_TTL_S,
                 clock: Callable[[], float] = time.monotonic,
                 always_allowed: tuple[str, ...] = ALWAYS_ALLOWED) -> None:
        self.client = client
        self.always_allowed = frozenset(always_allowed)
        self._users = _Cache(ttl_s, clock)
        self._decisions = _Cache(ttl_s, clock)

    async def authenticate(self, token: str) -> User | None:
        """The user *token* belongs to, or None if the API server does not accept it."""
        key = hashlib.sha256(token.encode()).digest()  # never keep tokens themselves
        hit, user = self._users.get(key)
        if hit:
            return user  # type: ignore[return-value]
        answer = await self.client.request("POST", TOKEN_REVIEWS, body={
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token}})
        status = answer.get("status") or {}
        found: User | None = None
        if status.get("authenticated"):
            who = status.get("user") or {}
            found = User(str(who.get("username") or ""), str(who.get("uid") or ""),
                         tuple(who.get("groups") or ()),
                         tuple(sorted((k, tuple(v)) for k, v in (who.get("extra") or {}).items())))
        self._users.put(key, found)
        return found

    async def authorize(self, user: User, path: str, verb: str = "get") -> bool:
        """Whether *user* may *verb* the non-resource URL *path*."""
        return await self.allowed(user, {"nonResourceAttributes": {"path": path, "verb": verb}})

    async def allowed(self, user: User, attributes: dict[str, dict[str, str]]) -> bool:
        """Whether *user* may do what *attributes* say: a SubjectAccessReview's
        ``nonResourceAttributes`` or ``resourceAttributes`` (verb, group, resource, namespace)."""
        key = (user, tuple((kind, tuple(sorted(fields.items())))
                           for kind, fields in sorted(attributes.items())))
        hit, allowed = self._decisions.get(key)
        if hit:
            return bool(allowed)
        spec: dict[str, object] = {"user": user.name, "groups": list(user.groups), **attributes}
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = {k: list(v) for k, v in user.extra}
        answer = await self.client.request("POST", ACCESS_REVIEWS, body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": spec})
        allowed = bool((answer.get("status") or {}).get("allowed"))
        self._decisions.put(key, allowed)
        return allowed

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """401 without an accepted bearer token, 403 without leave to get the path."""
        if request.path in self.always_allowed:
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _refused(401, "a bearer token is required")
        try:
            user = await self.authenticate(token.strip())
        except ApiError as exc:
            log.warning("TokenReview for %s failed: %s", request.path, exc)
            return _refused(401, "the token could not be checked")
        if user is None:
            return _refused(401, "the token was not accepted")
        try:
            allowed = await self.authorize(user, request.path, "get")
        except ApiError as exc:
            log.warning("SubjectAccessReview of %s for %s failed: %s", user.name, request.path,
                        exc)
            allowed = False
        if not allowed:
            return _refused(403, f'user "{user.name}" may not get path "{request.path}"')
        return await handler(request)


def _refused(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="corral-scheduler"'} if status == 401 else {}
    return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                              "code": status, "message": message},
                             status=status, headers=headers)


@dataclass
class SecureServing:
    """What :meth:`~corral.k8s.loop.LiveScheduler.serve` needs to serve securely."""

    auth: DelegatedAuth
    ssl_context: ssl.SSLContext

    @classmethod
    def create(cls, client: KubeClient, cert_file: str | None = None,
               key_file: str | None = None) -> SecureServing:
        """Reviews asked through *client*; TLS from the files, or a self-signed pair."""
        return cls(DelegatedAuth(client), server_ssl_context(cert_file, key_file))


def server_ssl_context(cert_file: str | None = None,
                       key_file: str | None = None) -> ssl.SSLContext:
    """A TLS server context from PEM files, or from a self-signed pair made now."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if (cert_file is None) != (key_file is None):
        raise ConfigError("--tls-cert-file and --tls-private-key-file go together")
    try:
        if cert_file is not None and key_file is not None:
            context.load_cert_chain(cert_file, key_file)
        else:
            cert, key = self_signed_certificate()
            with _memory_file(cert + key) as path:
                context.load_cert_chain(path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"TLS certificate: {exc}") from None
    return context


def self_signed_certificate(hosts: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key (PEM), for this host's name, ``localhost`` and
    the loopback addresses, and *hosts*, valid :data:`CERT_DAYS` days (ECDSA P-256)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         f"corral-scheduler@{int(time.time())}")])
    dns = {"localhost", socket.gethostname(), *(h for h in hosts if not _is_ip(h))}
    ips = {"127.0.0.1", "::1", *(h for h in hosts if _is_ip(h))}
    names = [*(x509.DNSName(d) for d in sorted(dns) if d),
             *(x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips))]
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    """A path holding *data* for as long as the block runs: an anonymous in-memory file where
    Linux has them (the scheduler's root file system is read-only), else a private temp file."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("corral-tls", 0)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.NamedTemporaryFile(suffix=".pem") as handle:
        handle.write(data)
        handle.flush()
        yield handle.name
