"""``corral scheduler`` (the live Kubernetes scheduler) and ``corral status`` (what it sees)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from corral.cli.console import print_error
from corral.cli.output import Output, OutputOption, emit_all, pick_output
from corral.model import CorralError

if TYPE_CHECKING:
    from corral.history import HistoryStore
    from corral.k8s.client import KubeClient

BAD_INPUT = 2

Kubeconfig = Annotated[str | None, typer.Option(
    help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).", show_default=False)]
InCluster = Annotated[bool, typer.Option(
    "--in-cluster", help="Use the pod's service account (inside the cluster).")]
SchedulerName = Annotated[str, typer.Option(help="The spec.schedulerName pods opt in with.")]


def scheduler(
    kubeconfig: Kubeconfig = None,
    in_cluster: InCluster = False,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.",
                                                show_default=False)] = None,
    policy: Annotated[str, typer.Option(help="Policy: a built-in name or a TOML file.")] =
        "corral",
    queues: Annotated[str | None, typer.Option(
        help="Queue file (TOML); Queue objects (corral.dev) are added to it.",
        show_default=False)] = None,
    scheduler_name: SchedulerName = "corral",
    metrics_port: Annotated[int, typer.Option(help="Port of /metrics, /healthz, /readyz, "
                                                   "/status.")] = 9404,
    metrics_addr: Annotated[str, typer.Option(
        help="Address it listens on; anything but loopback needs --authenticate-metrics.")] =
        "127.0.0.1",
    authenticate_metrics: Annotated[bool, typer.Option(
        "--authenticate-metrics",
        help="Serve over TLS; /metrics and /status need a bearer token the API server accepts "
             "(TokenReview) and allows get on the path (SubjectAccessReview). /healthz and "
             "/readyz stay open.")] = False,
    tls_cert_file: Annotated[str | None, typer.Option(
        help="TLS certificate (PEM) with --authenticate-metrics (default: self-signed, made at "
             "start).", show_default=False)] = None,
    tls_private_key_file: Annotated[str | None, typer.Option(
        help="Its private key (PEM).", show_default=False)] = None,
    leader_elect: Annotated[bool, typer.Option(help="Hold a Lease so one replica binds.")] =
        True,
    lease_namespace: Annotated[str, typer.Option(envvar="POD_NAMESPACE",
                                                 help="Namespace of the Lease.")] =
        "kube-system",
    identity: Annotated[str | None, typer.Option(envvar="POD_NAME",
                                                 help="This replica's name in the Lease "
                                                      "(default: host name).",
                                                 show_default=False)] = None,
    history_db: Annotated[str | None, typer.Option(
        help="Job-history database URL (sqlite:///FILE or postgresql+psycopg://...); "
             "default: sqlite:///corral-history.db. 'none' writes no history.",
        show_default=False)] = None,
    grace_seconds: Annotated[int, typer.Option(min=0, help="Grace period of evictions.")] = 30,
    tick: Annotated[float, typer.Option(min=0.1, help="Seconds between cycles when nothing "
                                                      "changes.")] = 5.0,
    log_format: Annotated[str, typer.Option(help="text or json (one object a line).")] =
        "text",
) -> None:
    """Run the Kubernetes scheduler: pods with schedulerName corral, the same core as simulate."""
    import asyncio

    from corral.core import Scheduler
    from corral.history import DEFAULT_URL
    from corral.k8s.client import KubeClient
    from corral.k8s.loop import LiveScheduler, Options
    from corral.k8s.secure_serving import SecureServing, check_exposure
    from corral.policies import load_policy
    from corral.queues import load_queue_file

    _logging(log_format)
    if (tls_cert_file or tls_private_key_file) and not authenticate_metrics:
        _fail("--tls-cert-file and --tls-private-key-file serve with --authenticate-metrics")
    try:
        check_exposure(metrics_addr, authenticated=authenticate_metrics)
        profile = load_policy(policy)
        tree = load_queue_file(queues) if queues else None
        url = history_db or DEFAULT_URL
        # Opened at once only for a policy that predicts from it; otherwise in the background,
        # so the first binding does not wait for the database and its migrations.
        history = None if history_db == "none" else \
            _open_history(url) if profile.reads_estimates else partial(_open_history, url)
    except CorralError as exc:
        _fail(str(exc))
    if profile.oracle:
        _fail(f"policy {profile.name} reads true job durations, which no live cluster knows; "
              "it is a reference for the simulator only")
    if profile.resizers:
        _fail(f"policy {profile.name} resizes running jobs, which the Kubernetes backend does "
              "not apply yet; it runs in the simulator")
    if profile.reads_estimates and history is None:
        _fail(f"policy {profile.name} orders jobs by run times predicted from the job history; "
              "give a history database with --history-db instead of 'none'")
    options = Options(scheduler_name=scheduler_name, grace_seconds=grace_seconds, tick_s=tick,
                      leader_elect=leader_elect, lease_namespace=lease_namespace,
                      identity=identity or socket.gethostname(), queues=tree, history=history)

    async def main() -> None:
        client = await KubeClient.connect(kubeconfig, in_cluster=in_cluster, context=context)
        live = LiveScheduler(client, Scheduler(profile), options)
        secure = SecureServing.create(client, tls_cert_file, tls_private_key_file) \
            if authenticate_metrics else None
        runner = await live.serve(metrics_addr, metrics_port, secure=secure)
        task = asyncio.create_task(live.run())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await runner.cleanup()
            await client.close()
            if live.history is not None:
                live.history.close()
            if history is not None and not callable(history):
                history.close()

    try:
        asyncio.run(main())
    except CorralError as exc:
        _fail(str(exc))
    except Exception as exc:  # kubeconfig unreadable, API server unreachable at start
        _fail(f"{type(exc).__name__}: {exc}")


def _open_history(url: str) -> HistoryStore:
    from corral.history import HistoryStore  # SQLAlchemy, and the migrations: seconds

    return HistoryStore(url)


def status(
    kubeconfig: Kubeconfig = None,
    in_cluster: InCluster = False,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.",
                                                show_default=False)] = None,
    scheduler_name: SchedulerName = "corral",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not tables (-o json).")]
    = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """Queues, their GPU use against quota, and why pods wait (read from the API server)."""
    from dataclasses import asdict

    from rich.table import Table

    from corral.k8s.status_report import cluster_status

    report = run_live(kubeconfig, in_cluster, context,
                      lambda client: cluster_status(client, scheduler_name))
    output = pick_output(output, as_json)
    if output is Output.JSON:
        typer.echo(json.dumps(asdict(report), indent=2))  # type: ignore[call-overload]
        return
    table = Table(title="Queues")
    for column in ("queue", "quota GPUs", "borrow limit", "used GPUs", "running pods",
                   "pending pods"):
        table.add_column(column, justify="left" if column == "queue" else "right")
    for row in report.queues:  # type: ignore[attr-defined]
        table.add_row(row.name, _num(row.quota_gpus), _num(row.borrowing_gpus),
                      f"{row.used_gpus:g}", str(row.running_pods), str(row.pending_pods))
    reasons = Table(title="Why pods wait")
    for column in ("pods", "reason", "for example"):
        reasons.add_column(column, justify="right" if column == "pods" else "left")
    for message, count, example in report.reasons:  # type: ignore[attr-defined]
        reasons.add_row(str(count), message, example)
    emit_all({"queues": table, "waiting": reasons}, output)


T = TypeVar("T")


def run_live(kubeconfig: str | None, in_cluster: bool, context: str | None,
             work: Callable[[KubeClient], Awaitable[T]]) -> T:
    """Connect, run *work* with the client, close; any failure is one ``error:`` line."""
    import asyncio

    from corral.k8s.client import KubeClient

    # The client library reads $KUBECONFIG once, at import: pass what it says now.
    config_file = None if in_cluster else kubeconfig or os.environ.get("KUBECONFIG") or None

    async def main() -> T:
        client = await KubeClient.connect(config_file, in_cluster=in_cluster, context=context)
        try:
            return await work(client)
        finally:
            await client.close()

    check_kubeconfig(kubeconfig, in_cluster)
    try:
        return asyncio.run(main())
    except CorralError as exc:
        _fail(str(exc))
    except Exception as exc:  # kubeconfig unreadable, API server unreachable
        _fail(f"{type(exc).__name__}: {exc}")


def check_kubeconfig(kubeconfig: str | None, in_cluster: bool) -> None:
    """Fail with what to do when no kubeconfig is at hand, before the client library says
    only "Invalid kube-config file"."""
    if in_cluster:
        return
    path = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or \
        os.path.expanduser("~/.kube/config")
    if not os.path.isfile(path):
        given = "--kubeconfig" if kubeconfig else "$KUBECONFIG" if os.environ.get(
            "KUBECONFIG") else "the default"
        _fail(f"no kubeconfig at {path} ({given}): give --kubeconfig FILE or set $KUBECONFIG "
              "to reach a cluster, or use --in-cluster inside a pod")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": round(record.created, 3), "level": record.levelname,
                 "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _logging(log_format: str) -> None:
    if log_format not in ("text", "json"):
        _fail(f"--log-format {log_format!r}: expected text or json")
    handler = logging.StreamHandler()
    handler.setFormatter(_JsonLines() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=os.environ.get("CORRAL_LOG_LEVEL", "INFO"), handlers=[handler])


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise typer.Exit(BAD_INPUT)
