"""``corral jobs``: squeue for Corral, live from the API server or offline from a history store.

Live, every pod of Corral's: pending ones with the reason the scheduler gave, running ones with
their node. Offline (``--db``), every stored attempt with how it ended. The same filters and
``-o`` forms either way, so a script written against one reads the other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from corral.cli.console import print_error, stdout
from corral.cli.kubernetes import InCluster, Kubeconfig, SchedulerName, run_live
from corral.cli.output import Output, OutputOption, emit
from corral.model import CorralError

if TYPE_CHECKING:
    from rich.table import Table

    from corral.job_rows import JobRow
    from corral.k8s.client import KubeClient

BAD_INPUT = 2
COLUMNS = ("job", "state", "reason", "age", "user", "queue", "gpus", "node")
WIDE_COLUMNS = (*COLUMNS, "gang", "submitted")


def jobs(
    namespace: Annotated[str | None, typer.Option(
        "--namespace", "-n", help="Only this namespace's jobs.", show_default=False)] = None,
    queue: Annotated[str | None, typer.Option(
        "--queue", "-q", help="Only this queue's jobs.", show_default=False)] = None,
    user: Annotated[str | None, typer.Option(
        "--user", "-u", help="Only this user's jobs (live: the namespace).",
        show_default=False)] = None,
    states: Annotated[str | None, typer.Option(
        "--states", "-t", help="Only these states, comma-separated: pending, running, "
                               "completed, failed, ... (any case).", show_default=False)] = None,
    db: Annotated[str | None, typer.Option(
        help="Read a job-history database (sqlite:///FILE or postgresql+psycopg://...) "
             "instead of the live cluster.", show_default=False)] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w",
                                        help="Print again every --interval seconds until "
                                             "Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(min=0.5, max=3600.0,
                                            help="Seconds between prints with --watch.")] = 2.0,
    output: OutputOption = Output.TABLE,
    kubeconfig: Kubeconfig = None,
    in_cluster: InCluster = False,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.",
                                                show_default=False)] = None,
    scheduler_name: SchedulerName = "corral",
) -> None:
    """Jobs with their state, why they wait, age, user, queue, GPUs and node (like squeue)."""
    wanted = {s.strip().lower() for s in states.split(",") if s.strip()} if states else None
    try:
        while True:
            if db is None:
                rows = _live_rows(kubeconfig, in_cluster, context, scheduler_name)
            else:
                try:
                    rows = _history_rows(db)
                except CorralError as exc:
                    _fail(str(exc))
            shown = [row for row in rows
                     if (namespace is None or row.job.startswith(f"{namespace}/"))
                     and (queue is None or row.queue == queue)
                     and (user is None or row.user == user)
                     and (wanted is None or row.state in wanted)]
            if watch and stdout().is_terminal:
                stdout().clear()
            _print(shown, output)
            if not watch:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        return


def _live_rows(kubeconfig: str | None, in_cluster: bool, context: str | None,
               scheduler_name: str) -> list[JobRow]:
    from corral.k8s.client import resource_path
    from corral.k8s.job_list import live_job_rows

    async def rows(client: KubeClient) -> list[JobRow]:
        pods = (await client.request("GET", resource_path("", "v1", "pods")))["items"]
        events = (await client.request("GET", resource_path("", "v1", "events")))["items"]
        return live_job_rows(pods, events, time.time(), scheduler_name)

    return run_live(kubeconfig, in_cluster, context, rows)


def _history_rows(db: str) -> list[JobRow]:
    """Stored attempts as rows: age is how long the job lived, submit to end."""
    from corral.cli.history import existing_store
    from corral.job_rows import JobRow

    with existing_store(db) as store:
        attempts = store.attempts()
    return [JobRow(str(a["job_id"]), str(a["outcome"]), "", max(0.0, a["end"] - a["submit"]),
                   str(a["user"]), str(a["queue"]), a["tasks"] * a["gpu_milli"] / 1000, "",
                   "", float(a["submit"]))
            for a in sorted(attempts, key=lambda a: (a["submit"], a["job_id"]))]


def _print(rows: Sequence[JobRow], output: Output) -> None:
    records = [asdict(row) for row in rows]
    emit(_table(rows, COLUMNS), output, wide=_table(rows, WIDE_COLUMNS), records=records)


def _table(rows: Sequence[JobRow], columns: Sequence[str]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for column in columns:
        table.add_column(column.upper(), justify="right" if column == "gpus" else "left",
                         overflow="fold")
    for row in rows:
        cells = {"job": row.job, "state": row.state, "reason": row.reason or "-",
                 "age": age_text(row.age_s), "user": row.user or "-", "queue": row.queue,
                 "gpus": f"{row.gpus:g}", "node": row.node or "-", "gang": row.gang or "-",
                 "submitted": f"{row.submitted:.0f}"}
        table.add_row(*(Text(cells[column]) for column in columns))  # tenants' text, as is
    return table


def age_text(seconds: float) -> str:
    """``42s``, ``7m``, ``3h12m``, ``5d4h``: kubectl's way of writing an age."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    if whole < 86_400:
        return f"{whole // 3600}h{whole % 3600 // 60}m"
    return f"{whole // 86_400}d{whole % 86_400 // 3600}h"


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise typer.Exit(BAD_INPUT)
