"""``corral cancel``, ``hold`` and ``resume``: a batch Job or a pod of the live cluster, by name.

Cancel deletes (a Job with its pods); hold and resume set the Job's ``spec.suspend``, as Kueue
does, so the Job controller removes a held Job's pods and recreates them on resume. See
:mod:`corral.k8s.job_control` for why a bare pod can be cancelled but not held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from corral.cli.console import note
from corral.cli.kubernetes import InCluster, Kubeconfig, run_live

if TYPE_CHECKING:
    from corral.k8s.client import KubeClient

Names = Annotated[list[str], typer.Argument(help="Job or pod names.", show_default=False)]
Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Their namespace.")]
Context = Annotated[str | None, typer.Option(help="Kubeconfig context.", show_default=False)]


def cancel(names: Names, namespace: Namespace = "default", kubeconfig: Kubeconfig = None,
           in_cluster: InCluster = False, context: Context = None) -> None:
    """Delete jobs: a batch Job with its pods, or a pod."""
    from corral.k8s.job_control import cancel as cancel_one

    async def work(client: KubeClient) -> list[str]:
        return [await cancel_one(client, namespace, name) for name in names]

    for done in run_live(kubeconfig, in_cluster, context, work):
        note(f"{done} cancelled")


def hold(names: Names, namespace: Namespace = "default", kubeconfig: Kubeconfig = None,
         in_cluster: InCluster = False, context: Context = None) -> None:
    """Suspend batch Jobs (spec.suspend: true): their pods go, their place stays."""
    _suspend(names, namespace, True, kubeconfig, in_cluster, context)


def resume(names: Names, namespace: Namespace = "default", kubeconfig: Kubeconfig = None,
           in_cluster: InCluster = False, context: Context = None) -> None:
    """Let held batch Jobs run again (spec.suspend: false)."""
    _suspend(names, namespace, False, kubeconfig, in_cluster, context)


def _suspend(names: list[str], namespace: str, held: bool, kubeconfig: str | None,
             in_cluster: bool, context: str | None) -> None:
    from corral.k8s.job_control import suspend

    async def work(client: KubeClient) -> list[str]:
        return [await suspend(client, namespace, name, held) for name in names]

    for done in run_live(kubeconfig, in_cluster, context, work):
        note(f"{done} {'held' if held else 'resumed'}")
