"""``corral history``: load traces into the job-history store and summarise what it holds."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from corral.cli.console import print_error, stderr, stdout
from corral.cli.output import Output, OutputOption, emit, pick_output
from corral.history import DEFAULT_URL  # the store (SQLAlchemy) loads in the commands
from corral.model import ConfigError, CorralError

if TYPE_CHECKING:
    from corral.history import HistoryStore

BAD_INPUT = 2

app = typer.Typer(name="history", no_args_is_help=True,
                  help="The job-history store: one row per job attempt (SQLite or PostgreSQL).")

DbOption = Annotated[
    str, typer.Option("--db", help="Database URL: sqlite:///FILE or "
                                   "postgresql+psycopg://USER@HOST/DB.")
]
LockWaitOption = Annotated[
    float, typer.Option("--lock-wait", min=0.0,
                        help="Seconds to wait for a lock another process holds on the database "
                             "(a writer mid-transaction, a migration) before giving up.")
]
LOCK_WAIT_S = 10.0
"""The store's default (corral.history.store.LOCK_WAIT_S), repeated so --help loads no
SQLAlchemy."""

SHOWN_REJECTS = 10
"""Rejected rows named one by one on import; the rest are counted."""


@app.command("import")
def import_trace(
    trace: Annotated[str, typer.Argument(help="Trace file (CSV, gzipped or not).")],
    db: DbOption = DEFAULT_URL,
    lock_wait: LockWaitOption = LOCK_WAIT_S,
) -> None:
    """Load a trace's jobs, one completed attempt each; importing twice adds nothing. A job the
    store cannot keep (say, an id over 1024 characters) is left out and named; the rest load."""
    from corral.history import HistoryStore, attempts_from_trace
    from corral.traces import read_trace  # pandas: for this command only

    rejected: list[str] = []

    def reject(row: Mapping[str, Any], reason: str) -> None:
        rejected.append(f"job {str(row.get('job_id'))[:80]!r} not stored: {reason}")

    try:
        loaded = read_trace(trace)
        with HistoryStore(db, lock_wait_s=lock_wait) as store:
            added = store.add_attempts(attempts_from_trace(loaded), on_reject=reject)
            total = store.count()
    except CorralError as exc:
        _fail(str(exc))
    for line in rejected[:SHOWN_REJECTS]:
        stderr().print(f"warning: {line}", highlight=False, soft_wrap=True, markup=False)
    if len(rejected) > SHOWN_REJECTS:
        stderr().print(f"warning: {len(rejected) - SHOWN_REJECTS} more jobs not stored",
                       highlight=False)
    left_out = f", {len(rejected)} rejected" if rejected else ""
    stdout().print(f"{added} of {len(loaded.jobs)} jobs added from {loaded.name} "
                   f"({total} attempts stored{left_out})", highlight=False)


@app.command()
def stats(
    by: Annotated[str, typer.Option(help="Group by user or queue.")] = "user",
    since: Annotated[
        str | None,
        typer.Option(help="Only attempts that ended at or after this: seconds, or a date "
                          "(YYYY-MM-DD, UTC) for stores of live jobs.", show_default=False),
    ] = None,
    db: DbOption = DEFAULT_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table (-o json).")]
    = False,
    lock_wait: LockWaitOption = LOCK_WAIT_S,
    output: OutputOption = Output.TABLE,
) -> None:
    """GPU-hours, jobs, and median and p90 run duration per user or queue; where the node
    agent profiled jobs, also their average and peak GPU utilisation and peak GPU memory."""

    try:
        cutoff = parse_since(since) if since is not None else None
        with existing_store(db, lock_wait) as store:
            rows = store.stats(by=by, since=cutoff)
    except CorralError as exc:
        _fail(str(exc))
    output = pick_output(output, as_json)
    if output is Output.JSON:
        typer.echo(json.dumps([asdict(row) for row in rows], indent=2))
        return
    profiled = any(row.profiled for row in rows)
    from rich.table import Table

    table = Table(title=f"Job history by {by}")
    columns = [by, "jobs", "GPU-hours", "median duration (s)", "p90 duration (s)"]
    if profiled:  # only stores the node agent wrote to have these
        columns += ["profiled", "avg GPU util", "peak GPU util", "peak GPU mem (MiB)"]
    for column in columns:
        table.add_column(column, justify="left" if column == by else "right")
    for row in rows:
        cells = [row.key, str(row.jobs), f"{row.gpu_hours:,.1f}",
                 f"{row.median_duration:,.0f}", f"{row.p90_duration:,.0f}"]
        if profiled:
            cells += [str(row.profiled), _percent(row.avg_gpu_util),
                      _percent(row.peak_gpu_util),
                      "-" if row.peak_gpu_mem_mib is None else f"{row.peak_gpu_mem_mib:,.0f}"]
        table.add_row(*cells)
    emit(table, output)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
@app.command()
def export(
    format_: Annotated[str, typer.Option("--format", help="trace: a CSV corral simulate "
                                                          "reads (format corral-history).")] =
        "trace",
    out: Annotated[str | None, typer.Option(help="Output file (default: stdout).",
                                            show_default=False)] = None,
    since: Annotated[str | None, typer.Option(help="Only attempts that ended at or after this "
                                                   "(seconds or a date).",
                                              show_default=False)] = None,
    source: Annotated[str | None, typer.Option(help="Only rows of this source (e.g. "
                                                    "kubernetes).", show_default=False)] = None,
    db: DbOption = DEFAULT_URL,
    lock_wait: LockWaitOption = LOCK_WAIT_S,
) -> None:
    """Export stored attempts, e.g. a live cluster's, as a trace file that `corral simulate
    FILE` replays."""
    from corral.history.trace_export import write_trace  # loads the trace readers (pandas)

    if format_ != "trace":
        _fail(f"--format {format_!r}: the only export format is trace")
    try:
        cutoff = parse_since(since) if since is not None else None
        with existing_store(db, lock_wait) as store:
            rows = [r for r in store.attempts(cutoff) if source is None or r["source"] == source]
    except CorralError as exc:
        _fail(str(exc))
    if out is None:
        write_trace(rows, sys.stdout)
        return
    try:
        with open(out, "w", encoding="utf-8", newline="") as handle:
            written = write_trace(rows, handle)
    except OSError as exc:
        _fail(f"{out}: cannot write ({exc.strerror})")
    stderr().print(f"{written} attempts written to {out}", highlight=False)


def existing_store(url: str, lock_wait_s: float = LOCK_WAIT_S) -> HistoryStore:
    """The store at *url* for reading: a SQLite file that is not there is an error, not a new
    empty database (a mistyped ``--db`` would otherwise read as "no jobs")."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from corral.history import HistoryStore

    try:
        parsed = make_url(url)
    except ArgumentError:  # HistoryStore names a malformed URL its own way
        return HistoryStore(url, lock_wait_s=lock_wait_s)
    database = parsed.database or ""
    if parsed.query.get("uri") == "true":  # sqlite:///file:PATH?mode=ro&uri=true
        database = database.removeprefix("file:")
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        path = Path(database)
        if not path.is_file():
            raise ConfigError(f"--db {url}: no history database at {path}; import a trace "
                              "with `corral history import` or point --db at an existing one")
    return HistoryStore(url, lock_wait_s=lock_wait_s)


def parse_since(text: str) -> float:
    """Seconds as given, or a date / ISO date-time (UTC unless it says) as epoch seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: expected seconds or a date such as 2024-05-01") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _fail(message: str) -> NoReturn:
    print_error(message)
    raise typer.Exit(BAD_INPUT)
