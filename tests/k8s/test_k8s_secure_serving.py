"""/metrics and /status are served to loopback only, or over TLS to callers the API server
authenticates (TokenReview) and allows (SubjectAccessReview); /healthz and /readyz stay open."""

from __future__ import annotations

import contextlib
import inspect
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from k8s_builders import emulated, live, run
from test_k8s_deploy_rbac import DEPLOY, _allows, _scheduler_rules

from corral.cli import kubernetes as cli
from corral.k8s.client import KubeClient
from corral.k8s.loop import LiveScheduler
from corral.k8s.secure_serving import SecureServing, self_signed_certificate, server_ssl_context
from corral.model import ConfigError

PROMETHEUS = "system:serviceaccount:monitoring:prometheus"
TOKENS = {"prometheus-token": PROMETHEUS, "tenant-token": "system:serviceaccount:ml:trainer"}
ALLOWED = {(PROMETHEUS, "/metrics", "get"), (PROMETHEUS, "/status", "get")}


class ReviewApi:
    """The two review APIs of an API server, answering from fixed tokens and grants, and
    noting each call as (API group, resource, RBAC verb) as the emulator does."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.reviewed: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/apis/authentication.k8s.io/v1/tokenreviews", self._token)
        app.router.add_post("/apis/authorization.k8s.io/v1/subjectaccessreviews", self._access)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        self.calls.append(("authentication.k8s.io", "tokenreviews", "create"))
        body = await request.json()
        user = TOKENS.get(body["spec"]["token"])
        status: dict[str, Any] = {"authenticated": user is not None}
        if user is not None:
            status["user"] = {"username": user, "uid": f"uid-{user}",
                              "groups": ["system:serviceaccounts", "system:authenticated"]}
        return web.json_response({**body, "status": status}, status=201)

    async def _access(self, request: web.Request) -> web.Response:
        self.calls.append(("authorization.k8s.io", "subjectaccessreviews", "create"))
        body = await request.json()
        spec = body["spec"]
        self.reviewed.append(spec)
        attrs = spec["nonResourceAttributes"]
        allowed = (spec["user"], attrs["path"], attrs["verb"]) in ALLOWED
        return web.json_response({**body, "status": {"allowed": allowed}}, status=201)


@contextlib.asynccontextmanager
async def _served(scheduler: LiveScheduler, api: ReviewApi,
                  **tls: str) -> AsyncIterator[tuple[str, KubeClient]]:
    """The scheduler served securely on loopback, reviews asked of *api*."""
    reviews = KubeClient.for_url(api.url)
    runner = await scheduler.serve("127.0.0.1", 0, secure=SecureServing.create(reviews, **tls))
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}", reviews
    finally:
        await runner.cleanup()
        await reviews.close()


async def _get(url: str, token: str | None = None,
               ssl_: ssl.SSLContext | bool = False) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as session, \
            session.get(url, headers=headers, ssl=ssl_) as response:
        return response.status, await response.text()


def test_only_an_authenticated_and_allowed_caller_reads_metrics_and_status() -> None:
    async def scenario() -> None:
        api = ReviewApi()
        await api.start()
        try:
            async with emulated() as emu, live(emu) as scheduler, \
                    _served(scheduler, api) as (base, _):
                for path in ("/metrics", "/status"):
                    assert (await _get(base + path))[0] == 401
                    assert (await _get(base + path, "forged-token"))[0] == 401
                    assert (await _get(base + path, "tenant-token"))[0] == 403
                    assert (await _get(base + path, "prometheus-token"))[0] == 200
                assert "corral_cycle_duration_seconds" in (
                    await _get(base + "/metrics", "prometheus-token"))[1]
                assert (await _get(base + "/healthz")) == (200, "ok")
                assert (await _get(base + "/readyz"))[0] == 200
                calls_before = len(api.calls)
                for _ in range(5):  # answers are kept: no review per scrape
                    assert (await _get(base + "/metrics", "prometheus-token"))[0] == 200
                assert len(api.calls) == calls_before
        finally:
            await api.stop()
        assert {(r["user"], r["nonResourceAttributes"]["path"]) for r in api.reviewed} >= {
            (PROMETHEUS, "/metrics"), (PROMETHEUS, "/status")}
        rules = _scheduler_rules(DEPLOY / "rbac.yaml")
        assert set(api.calls) == {("authentication.k8s.io", "tokenreviews", "create"),
                                  ("authorization.k8s.io", "subjectaccessreviews", "create")}
        assert all(_allows(rules, *call) for call in api.calls)
    run(scenario)


def test_it_speaks_tls_only_with_its_own_or_the_given_certificate(tmp_path: Path) -> None:
    cert, key = self_signed_certificate()
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)

    async def scenario() -> None:
        api = ReviewApi()
        await api.start()
        try:
            async with emulated() as emu, live(emu) as scheduler:
                async with _served(scheduler, api) as (base, _):
                    with pytest.raises(aiohttp.ClientError):
                        await _get(base.replace("https://", "http://") + "/metrics",
                                   "prometheus-token")
                    assert (await _get(base + "/healthz"))[0] == 200
                trusted = ssl.create_default_context(cafile=str(tmp_path / "tls.crt"))
                async with _served(scheduler, api, cert_file=str(tmp_path / "tls.crt"),
                                   key_file=str(tmp_path / "tls.key")) as (base, _):
                    assert (await _get(base + "/metrics", "prometheus-token", trusted))[0] == 200
        finally:
            await api.stop()
    run(scenario)
    with pytest.raises(ConfigError, match="go together"):
        server_ssl_context(str(tmp_path / "tls.crt"))


def test_without_authentication_it_serves_loopback_only() -> None:
    async def scenario() -> None:
        async with emulated() as emu, live(emu) as scheduler:
            for host in ("0.0.0.0", "::", "10.1.2.3"):
                with pytest.raises(ConfigError, match="--authenticate-metrics"):
                    await scheduler.serve(host, 0)
            runner = await scheduler.serve("127.0.0.1", 0)
            try:
                port = runner.addresses[0][1]
                assert runner.addresses[0][0] == "127.0.0.1"
                async with aiohttp.ClientSession() as session, \
                        session.get(f"http://127.0.0.1:{port}/status") as response:
                    assert response.status == 200
            finally:
                await runner.cleanup()
    run(scenario)
    assert inspect.signature(cli.scheduler).parameters["metrics_addr"].default == "127.0.0.1"
