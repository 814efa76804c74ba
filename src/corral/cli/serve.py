"""``corral serve``: the web dashboard and admin API (:mod:`corral.dashboard`).

Offline it reads a history database, a queue file, run folders and cache statistics, with
users from a token file; live (``--kubeconfig`` or ``--in-cluster``) projects are the Queue
resources, the cluster is read from the API server and users are checked by it. ``--demo``
builds everything from the bundled trace. FastAPI and uvicorn come with the ``dashboard``
extra and are imported only here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from corral.cli.console import print_error, stderr
from corral.cli.kubernetes import InCluster, Kubeconfig
from corral.model import CorralError

BAD_INPUT = 2


def serve(
    demo: Annotated[bool, typer.Option(
        "--demo", help="A simulated cluster replaying the bundled trace, with its history, "
                       "runs, cache statistics and three users (tokens printed).")] = False,
    db: Annotated[str | None, typer.Option(
        help="History database URL (SQLite or PostgreSQL).", show_default=False)] = None,
    queues: Annotated[Path | None, typer.Option(
        help="Queue file (TOML) holding the projects, offline; created on the first new "
             "project.", show_default=False)] = None,
    tokens: Annotated[Path | None, typer.Option(
        help="Token file (TOML) of users, offline.", show_default=False)] = None,
    runs: Annotated[Path | None, typer.Option(
        help="Folder of simulation runs (compare, sweep, simulate --out).",
        show_default=False)] = None,
    cache_stats: Annotated[list[Path] | None, typer.Option(
        help="A data cache's statistics file or mount root (repeatable).",
        show_default=False)] = None,
    audit_log: Annotated[Path, typer.Option(help="Where admin changes are appended.")] =
        Path("corral-audit.log"),
    kubeconfig: Kubeconfig = None,
    in_cluster: InCluster = False,
    scheduler_url: Annotated[str | None, typer.Option(
        help="The scheduler's /status base URL, for why pods wait (live).",
        show_default=False)] = None,
    agent_metrics_url: Annotated[list[str] | None, typer.Option(
        metavar="URL", help="A node agent's /metrics URL, for GPU utilisation and health on "
                            "the nodes page (live; repeatable).", show_default=False)] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback "
                                           "needs --tls-cert-file.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    tls_cert_file: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).",
                                                       show_default=False)] = None,
    tls_private_key_file: Annotated[Path | None, typer.Option(help="Its private key (PEM).",
                                                              show_default=False)] = None,
) -> None:
    """Serve the web dashboard and its API (OpenAPI schema at /docs)."""
    try:
        import uvicorn

        from corral.dashboard.app import create_app
        from corral.dashboard.sources import live_sources, offline_sources
    except ImportError as exc:
        _fail(f"corral serve needs the dashboard extra (pip install 'corral[dashboard]'): "
              f"{exc}")
    from corral.k8s.secure_serving import is_loopback

    live = bool(kubeconfig) or in_cluster
    if demo and live:
        _fail("--demo replays a simulated cluster; it takes no --kubeconfig or --in-cluster")
    if (tls_cert_file is None) != (tls_private_key_file is None):
        _fail("--tls-cert-file and --tls-private-key-file go together")
    if not is_loopback(host) and tls_cert_file is None:
        _fail(f"--host {host}: bearer tokens would cross the network in the clear; listen on "
              "127.0.0.1, or give --tls-cert-file and --tls-private-key-file")
    if agent_metrics_url and not live:
        _fail("--agent-metrics-url reads live node agents; it needs --kubeconfig or --in-cluster")
    if not live and not demo and tokens is None:
        _fail("offline, --tokens names the users who may sign in (see docs/dashboard.md)")

    async def main() -> None:
        client = None
        if live:
            from corral.k8s.client import KubeClient

            client = await KubeClient.connect(kubeconfig, in_cluster=in_cluster)
            sources = live_sources(client, scheduler_url, db, runs, cache_stats or [],
                                   audit_log, agent_metrics_url or [])
        elif demo:
            from corral.dashboard.demo import build_demo

            folder = Path(tempfile.mkdtemp(prefix="corral-demo-"))
            stderr().print(f"building the demo in {folder} (a few seconds)...")
            built = build_demo(folder)
            sources = built.sources
            for name, token in built.tokens.items():
                stderr().print(f"  sign in as {name}: {token}", highlight=False)
        else:
            assert tokens is not None
            sources = offline_sources(tokens, queues, db, runs, cache_stats or [], audit_log)
        config = uvicorn.Config(create_app(sources), host=host, port=port,
                                ssl_certfile=tls_cert_file, ssl_keyfile=tls_private_key_file,
                                log_level="warning")
        scheme = "https" if tls_cert_file else "http"
        stderr().print(f"dashboard on {scheme}://{host}:{port}/", highlight=False)
        try:
            await uvicorn.Server(config).serve()
        finally:
            if client is not None:
                await client.close()

    import asyncio  # the command itself, not `corral --version`, pays for it

    try:
        asyncio.run(main())
    except CorralError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise typer.Exit(BAD_INPUT)
