"""The API client: credentials on every request, the environment's proxy read once."""

from __future__ import annotations

import asyncio

from aiohttp import web

from corral.k8s.client import KubeClient


def test_requests_carry_the_token_and_the_json_body_and_read_no_environment(monkeypatch) -> None:
    seen: list[tuple[str, str, str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.method, request.path_qs, request.headers.get("Authorization", ""),
                     await request.text()))
        return web.json_response({"ok": True})

    async def scenario() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        client = KubeClient.for_url(f"http://127.0.0.1:{port}", token="secret")
        try:
            assert client.api.rest_client.pool_manager.trust_env is False
            assert await client.request("POST", "/api/v1/x", query={"limit": 5},
                                        body={"a": 1}) == {"ok": True}
        finally:
            await client.close()
            await runner.cleanup()

    asyncio.run(scenario())
    assert seen == [("POST", "/api/v1/x?limit=5", "Bearer secret", '{"a":1}')]


def test_the_environments_proxy_is_looked_up_once_for_the_api_server(monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "internal.test")

    async def scenario() -> tuple[str | None, str | None]:
        outside = KubeClient.for_url("https://api.example.test:6443")
        inside = KubeClient.for_url("https://api.internal.test:6443")
        try:
            return outside.api.rest_client.proxy, inside.api.rest_client.proxy
        finally:
            await outside.close()
            await inside.close()

    assert asyncio.run(scenario()) == ("http://proxy.test:3128", None)
