"""A throwaway Kubernetes control plane on loopback, started from binaries the way envtest does.

``KUBEBUILDER_ASSETS`` names a folder holding ``etcd`` and ``kube-apiserver`` (and, for runs
beside the stock scheduler, ``kube-scheduler``). :meth:`ControlPlane.start` runs etcd on free
loopback ports with a temporary data directory, and kube-apiserver with a self-signed serving
certificate made for the run (by ``openssl``), a static bearer token for an admin user in
``system:masters`` and RBAC, then writes a kubeconfig for that user. :meth:`ControlPlane.stop`
ends every process it started and removes the directory. Nothing else runs: no
controller-manager (so the ``ServiceAccount`` admission plugin is off, since no controller
makes the default service accounts) and no kubelet (nodes are Node objects, see
:mod:`corral.k8s.testing.fake_cluster`).

:func:`install_crds` creates CustomResourceDefinitions and waits until they are served;
:data:`PODGROUP_CRD` is a minimal structural CRD for the scheduler-plugins PodGroup
(``scheduling.x-k8s.io/v1alpha1``), with the fields Corral reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corral.model import CorralError

ASSETS_ENV = "KUBEBUILDER_ASSETS"
REQUIRED_BINARIES = ("etcd", "kube-apiserver")
SCHEDULER_BINARY = "kube-scheduler"
ADMIN_USER = "corral-admin"
START_TIMEOUT_S = 90.0
SCHEDULER_QPS = 1000
"""The stock scheduler's client rate (QPS and burst): its default of 50 would measure the
client's throttle, not the scheduler."""

PODGROUP_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "podgroups.scheduling.x-k8s.io"},
    "spec": {
        "group": "scheduling.x-k8s.io", "scope": "Namespaced",
        "names": {"plural": "podgroups", "singular": "podgroup", "kind": "PodGroup",
                  "listKind": "PodGroupList", "shortNames": ["pg", "pgs"]},
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {
                    "minMember": {"type": "integer", "format": "int32", "minimum": 0},
                    "minResources": {"type": "object", "additionalProperties": {
                        "x-kubernetes-int-or-string": True}},
                    "scheduleTimeoutSeconds": {"type": "integer", "format": "int32"}}},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
        }],
    },
}
"""The scheduler-plugins PodGroup, cut to what Corral reads (``minMember``) and what manifests
commonly set; the status is left open."""


class ControlPlaneError(CorralError):
    """The control plane could not be started (the message says which part, with its log), or
    refused a call (*status* is then its HTTP status)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def missing_assets(environ: Mapping[str, str] = os.environ) -> str:
    """Why no control plane can be started here ('' if one can)."""
    folder = environ.get(ASSETS_ENV)
    if not folder:
        return f"{ASSETS_ENV} is not set (a folder with etcd and kube-apiserver)"
    missing = [b for b in REQUIRED_BINARIES if not os.access(Path(folder) / b, os.X_OK)]
    if missing:
        return f"{ASSETS_ENV}={folder} has no executable {' or '.join(missing)}"
    if shutil.which("openssl") is None:
        return "openssl is not installed (it makes the API server's serving certificate)"
    return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ControlPlane:
    """etcd and kube-apiserver (and kube-scheduler, once asked for) run from *assets*."""

    assets: Path
    root: Path
    url: str = ""
    token: str = ""
    ca_file: Path = field(init=False)
    kubeconfig: Path = field(init=False)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ca_file = self.root / "serving.crt"
        self.kubeconfig = self.root / "kubeconfig"

    # -- starting ---------------------------------------------------------------------------
    @classmethod
    def start(cls, assets: str | Path | None = None, *,
              timeout: float = START_TIMEOUT_S) -> ControlPlane:
        """etcd and kube-apiserver, serving once this returns; ControlPlaneError otherwise."""
        folder = str(assets) if assets else os.environ.get(ASSETS_ENV, "")
        reason = missing_assets({ASSETS_ENV: folder} if folder else {})
        if reason:
            raise ControlPlaneError(reason)
        plane = cls(Path(folder).resolve(), Path(tempfile.mkdtemp(prefix="corral-k8s-")))
        try:
            plane._start_etcd_and_apiserver(timeout)
        except BaseException:
            plane.stop()
            raise
        return plane

    def _start_etcd_and_apiserver(self, timeout: float) -> None:
        client_port, peer_port, secure_port = free_port(), free_port(), free_port()
        self._serving_certificate()
        etcd_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._spawn("etcd", [
            str(self.assets / "etcd"), "--name", "corral", "--data-dir", str(self.root / "etcd"),
            "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"corral={peer_url}", "--initial-cluster-state", "new"])
        self.token = secrets.token_hex(16)
        tokens = self.root / "tokens.csv"
        tokens.write_text(f'{self.token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
        self.url = f"https://127.0.0.1:{secure_port}"
        key = self.root / "serving.key"
        self._spawn("kube-apiserver", [
            str(self.assets / "kube-apiserver"), f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={secure_port}", f"--cert-dir={self.root / 'certs'}",
            f"--tls-cert-file={self.ca_file}", f"--tls-private-key-file={key}",
            f"--token-auth-file={tokens}", "--authorization-mode=RBAC",
            f"--service-account-issuer={self.url}", f"--service-account-key-file={key}",
            f"--service-account-signing-key-file={key}",
            "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount"])
        self._write_kubeconfig(self.kubeconfig, self.token)
        self._wait_ready(timeout)

    def _serving_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1 and localhost, its own CA for the clients;
        its RSA key also signs service account tokens."""
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(self.root / "serving.key"), "-out", str(self.ca_file),
             "-subj", "/CN=corral-test-apiserver",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True)

    def _spawn(self, name: str, args: list[str]) -> None:
        with open(self.root / f"{name}.log", "wb") as log:
            self.processes[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL)

    def _write_kubeconfig(self, path: Path, token: str) -> None:
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "corral-test",
                  "clusters": [{"name": "corral-test", "cluster": {
                      "server": self.url, "certificate-authority": str(self.ca_file)}}],
                  "users": [{"name": ADMIN_USER, "user": {"token": token}}],
                  "contexts": [{"name": "corral-test", "context": {
                      "cluster": "corral-test", "user": ADMIN_USER}}]}
        path.write_text(json.dumps(config, indent=1))

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise ControlPlaneError(f"{name} exited with status {process.returncode}:\n"
                                            f"{self.log_tail(name)}")
            try:
                self.get("/readyz")
                return
            except (OSError, ControlPlaneError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise ControlPlaneError(f"kube-apiserver not ready after {timeout:.0f}s ({last}):\n"
                                f"{self.log_tail('kube-apiserver')}")

    def start_scheduler(self, *, qps: int = SCHEDULER_QPS,
                        timeout: float = START_TIMEOUT_S) -> subprocess.Popen[bytes]:
        """The stock kube-scheduler (``default-scheduler``), no leader election, client QPS and
        burst *qps*; returns once its process runs (it binds as soon as it has synced)."""
        binary = self.assets / SCHEDULER_BINARY
        if not os.access(binary, os.X_OK):
            raise ControlPlaneError(f"{self.assets} has no executable {SCHEDULER_BINARY}")
        config = self.root / "kube-scheduler.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
            "clientConnection": {"kubeconfig": str(self.kubeconfig), "qps": qps, "burst": qps},
            "leaderElection": {"leaderElect": False}}))
        self._spawn(SCHEDULER_BINARY, [str(binary), f"--config={config}", "--secure-port=0"])
        process = self.processes[SCHEDULER_BINARY]
        if process.poll() is not None:
            raise ControlPlaneError(f"kube-scheduler exited with status {process.returncode}:\n"
                                    f"{self.log_tail(SCHEDULER_BINARY)}")
        return process

    def stop_scheduler(self) -> None:
        self._end(SCHEDULER_BINARY)

    # -- talking to it ----------------------------------------------------------------------
    def get(self, path: str) -> dict[str, Any]:
        return self.request("GET", path)

    def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """One call as the admin user; ControlPlaneError with the status on a refusal."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            raise ControlPlaneError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}",
                                    exc.code) from None
        try:
            value = json.loads(text) if text else {}
        except ValueError:
            return {"text": text.decode("utf-8", "replace")}
        return value if isinstance(value, dict) else {"items": value}

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            text = (self.root / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- stopping ---------------------------------------------------------------------------
    def _end(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        """End every process started here (the API server before etcd), remove the folder."""
        for name in (SCHEDULER_BINARY, "kube-apiserver", "etcd"):
            self._end(name)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def control_plane(assets: str | Path | None = None) -> Iterator[ControlPlane]:
    """A started :class:`ControlPlane`, stopped and removed on leaving."""
    plane = ControlPlane.start(assets)
    try:
        yield plane
    finally:
        plane.stop()


def crd_documents(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions in YAML files (other documents are left out)."""
    out: list[dict[str, Any]] = []
    for path in paths:
        with open(path) as stream:
            out.extend(d for d in yaml.safe_load_all(stream)
                       if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition")
    return out


def install_crds(plane: ControlPlane, crds: Iterable[Mapping[str, Any]],
                 timeout: float = 30.0) -> None:
    """Create each CRD (one already there is kept) and wait until every one is Established."""
    base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    names = []
    for crd in crds:
        names.append(crd["metadata"]["name"])
        try:
            plane.request("POST", base, dict(crd))
        except ControlPlaneError as exc:
            if exc.status != 409:
                raise
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            conditions = (plane.get(f"{base}/{name}").get("status") or {}).get("conditions") or ()
            if any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in conditions):
                break
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"CRD {name} not Established after {timeout:.0f}s")
            time.sleep(0.1)
