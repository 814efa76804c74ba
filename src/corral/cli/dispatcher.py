"""``corral dispatcher``: one queue in a manager cluster, jobs run in worker clusters."""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated

import typer

from corral.cli.console import print_error
from corral.cli.kubernetes import InCluster, Kubeconfig

BAD_INPUT = 2
log = logging.getLogger("corral.dispatcher")


def dispatcher(
    kubeconfig: Kubeconfig = None,
    in_cluster: InCluster = False,
    namespace: Annotated[str, typer.Option(
        envvar="POD_NAMESPACE", help="The dispatcher's namespace: worker Secrets and dispatch "
                                     "Leases live here.")] = "corral-dispatch",
    lease: Annotated[float, typer.Option(
        min=10.0, max=86_400.0, help="Seconds a worker keeps a job without hearing from the "
                                     "dispatcher; its copy stops itself at the end.")] = 120.0,
    grace: Annotated[float, typer.Option(
        min=0.0, max=3600.0, help="Extra seconds before a silent worker's jobs are "
                                  "re-dispatched (clock skew, a copy's start).")] = 30.0,
    period: Annotated[float, typer.Option(
        min=0.5, max=3600.0, help="Seconds between passes over workers and jobs.")] = 5.0,
) -> None:
    """Dispatch suspended Jobs labelled dispatch.corral.dev/dispatch=true to worker clusters."""
    import asyncio
    import time

    from corral.dispatcher.dispatcher import Dispatcher, DispatchSettings
    from corral.k8s.client import ApiError, KubeClient

    if period * 3 > lease:
        print_error(f"--period {period:g} must be at most a third of --lease {lease:g}: a "
                    "lease must survive a missed pass")
        raise typer.Exit(BAD_INPUT)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def serve() -> None:
        client = await KubeClient.connect(kubeconfig, in_cluster=in_cluster)
        dispatch = Dispatcher(client, DispatchSettings(namespace, lease, grace), time.time)
        try:
            while True:
                try:
                    await dispatch.reconcile()
                except ApiError as exc:
                    log.warning("pass failed, retrying next period: %s", exc)
                await asyncio.sleep(period)
        finally:
            await dispatch.close()
            await client.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
