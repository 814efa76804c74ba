"""``corral queues``: list queues, create one, set a quota; live Queue resources, or a TOML
queue file offline (``--file``), the one ``corral simulate --queues`` and ``corral scheduler
--queues`` read."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from corral.cli.console import note, print_error
from corral.cli.kubernetes import InCluster, Kubeconfig, run_live
from corral.cli.output import Output, OutputOption, emit
from corral.model import GPU, MILLI, ConfigError, CorralError

if TYPE_CHECKING:
    from corral.k8s.client import KubeClient
    from corral.model import Queue

BAD_INPUT = 2

app = typer.Typer(name="queues", no_args_is_help=True,
                  help="Queues and their GPU quotas: live Queue resources, or a TOML file.")

QueueFile = Annotated[Path | None, typer.Option(
    "--file", "-f", help="Work on this TOML queue file instead of the live cluster.",
    dir_okay=False, show_default=False)]
Context = Annotated[str | None, typer.Option(help="Kubeconfig context.", show_default=False)]
Gpus = Annotated[float | None, typer.Option(
    "--gpus", min=0.0, max=1_000_000.0, help="Guaranteed GPUs (fractions to 0.001).",
    show_default=False)]
BorrowingLimit = Annotated[float | None, typer.Option(
    min=0.0, max=1_000_000.0, help="GPUs it may borrow above its quota (default: any idle).",
    show_default=False)]


@app.command("list")
def list_command(
    file: QueueFile = None,
    output: OutputOption = Output.TABLE,
    kubeconfig: Kubeconfig = None,
    in_cluster: InCluster = False,
    context: Context = None,
) -> None:
    """Each queue: parent, weight, GPU quota and borrowing limit (live: who may use it)."""
    if file is not None:
        from corral.queues import load_queue_file

        try:
            tree = load_queue_file(file)
        except CorralError as exc:
            _fail(str(exc))
        records = [_record(queue, queue.name == tree.default) for queue in tree.queues.values()]
    else:
        from corral.dashboard.projects import ProjectObjects

        projects = run_live(kubeconfig, in_cluster, context,
                            lambda client: ProjectObjects(client).list())
        records = [{"queue": p.name, "parent": p.parent or "", "weight": p.weight,
                    "quota_gpus": p.quota_gpus, "borrowing_limit_gpus": p.borrowing_gpus,
                    "namespaces": ",".join(p.members) or "none"} for p in projects]
    emit(_table(records), output, records=records)


@app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="The new queue's name.")],
    gpus: Gpus = None,
    parent: Annotated[str | None, typer.Option(help="Its parent queue.",
                                               show_default=False)] = None,
    weight: Annotated[float, typer.Option(min=0.001, max=1_000_000.0,
                                          help="Fair-share weight.")] = 1.0,
    borrowing_limit: BorrowingLimit = None,
    namespace: Annotated[list[str] | None, typer.Option(
        "--namespace", "-n", help="A namespace whose pods may use it (repeat for several). "
                                  "Live only; none: no namespace may yet.",
        show_default=False)] = None,
    file: QueueFile = None,
    kubeconfig: Kubeconfig = None,
    in_cluster: InCluster = False,
    context: Context = None,
) -> None:
    """Create a queue with a GPU quota (a project, in the dashboard's words)."""
    if gpus is None:
        _fail("create needs --gpus, the queue's guaranteed GPUs (0 for none)")
    _check_finite(gpus, borrowing_limit)
    if file is not None:
        from corral.queues.file_edit import create_queue

        if namespace:
            _fail("--namespace sets who may use a live Queue; a queue file has no namespaces")
        try:
            create_queue(file, name, gpus=gpus, parent=parent, weight=weight,
                         borrowing_limit=borrowing_limit)
        except CorralError as exc:
            _fail(str(exc))
        note(f"queue {name} created in {file}", err=True)
        return
    from corral.dashboard.api_models import ProjectChange
    from corral.dashboard.projects import ProjectExists, ProjectObjects

    try:
        change = _change(ProjectChange, name=name, parent=parent, weight=weight,
                         quota_gpus=gpus, borrowing_gpus=borrowing_limit, members=namespace or [])
    except CorralError as exc:
        _fail(str(exc))

    async def create(client: KubeClient) -> None:
        try:
            await ProjectObjects(client).create(change)
        except ProjectExists:
            raise ConfigError(f"queue {name} exists already; change its quota with "
                              "`corral queues set-quota`") from None

    run_live(kubeconfig, in_cluster, context, create)
    note(f"queue {name} created", err=True)


@app.command("set-quota")
def set_quota_command(
    name: Annotated[str, typer.Argument(help="The queue.")],
    gpus: Gpus = None,
    borrowing_limit: BorrowingLimit = None,
    file: QueueFile = None,
    kubeconfig: Kubeconfig = None,
    in_cluster: InCluster = False,
    context: Context = None,
) -> None:
    """Change a queue's GPU quota and/or borrowing limit; the scheduler applies it at once."""
    if gpus is None and borrowing_limit is None:
        _fail("set-quota needs --gpus and/or --borrowing-limit")
    _check_finite(gpus, borrowing_limit)
    if file is not None:
        from corral.queues.file_edit import set_quota

        try:
            set_quota(file, name, gpus=gpus, borrowing_limit=borrowing_limit)
        except CorralError as exc:
            _fail(str(exc))
        note(f"queue {name} changed in {file}", err=True)
        return
    from corral.dashboard.api_models import ProjectChange
    from corral.dashboard.projects import ProjectNotFound, ProjectObjects

    async def change(client: KubeClient) -> None:
        store = ProjectObjects(client)
        current = next((p for p in await store.list() if p.name == name), None)
        if current is None:
            raise ConfigError(f"no queue named {name}")
        fields = current.model_dump(include=set(ProjectChange.model_fields))
        fields.update({"quota_gpus": gpus} if gpus is not None else {})
        fields.update({"borrowing_gpus": borrowing_limit} if borrowing_limit is not None else {})
        try:
            await store.update(_change(ProjectChange, **fields))
        except ProjectNotFound:
            raise ConfigError(f"no queue named {name}") from None

    run_live(kubeconfig, in_cluster, context, change)
    note(f"queue {name} changed", err=True)


def _record(queue: Queue, default: bool) -> dict[str, Any]:
    limit = (queue.borrowing_limit or {}).get(GPU)
    return {"queue": queue.name, "parent": queue.parent or "", "weight": queue.weight,
            "quota_gpus": queue.quota[GPU] / MILLI if GPU in queue.quota else None,
            "borrowing_limit_gpus": None if limit is None else limit / MILLI,
            "default": default}


def _change(model: Any, **fields: Any) -> Any:
    """The dashboard's checked change (names, ranges) from the options; bad ones fail here."""
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(problems) from None


def _table(records: list[dict[str, Any]]) -> Any:
    from rich.table import Table
    from rich.text import Text

    columns = ["queue", "parent", "weight", "quota_gpus", "borrowing_limit_gpus", "default"]
    if any("namespaces" in record for record in records):
        columns.append("namespaces")
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for column in columns:
        table.add_column(column.upper().replace("_", " "))
    for record in records:
        table.add_row(*(Text(_cell(record.get(column))) for column in columns))
    return table


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _check_finite(*values: float | None) -> None:
    if any(value is not None and not math.isfinite(value) for value in values):
        _fail("GPU amounts must be finite numbers")


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise typer.Exit(BAD_INPUT)
