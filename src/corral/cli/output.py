"""``-o table|wide|json|csv``: one way for every command that prints a table.

Tables go to a terminal as Rich draws them; anywhere else (a pipe, a file) the console is made
wide enough that no cell is cut to an ellipsis and no column dropped, because a script reading
the output cannot widen its window. ``json`` and ``csv`` carry the same rows for programs:
the command's own records where it has typed ones, else the table's cells as shown.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

UNBOUNDED_WIDTH = 100_000
"""Console width off a terminal: wider than any table Corral prints, so none is squeezed."""


class Output(StrEnum):
    """What ``-o`` accepts."""

    TABLE = "table"
    WIDE = "wide"
    JSON = "json"
    CSV = "csv"


OutputOption = Annotated[Output, typer.Option(
    "--output", "-o", case_sensitive=False,
    help="table (fits a terminal), wide (every column), json or csv.")]

Record = Mapping[str, Any]


def table_console() -> Console:
    """A console on stdout; off a terminal, one that never truncates or drops a column."""
    from rich.console import Console

    console = Console()
    if console.is_terminal:
        return console
    return Console(width=UNBOUNDED_WIDTH)


def records_of(table: Table) -> list[dict[str, str]]:
    """A Rich table's rows as ``{header: cell text}``, headers and cells as shown."""
    headers = [_plain(column.header).replace("\n", " ") or f"column {index + 1}"
               for index, column in enumerate(table.columns)]
    columns = [[_plain(cell) for cell in column.cells] for column in table.columns]
    return [dict(zip(headers, row, strict=True)) for row in zip(*columns, strict=True)]


def emit(table: Table, output: Output, *, wide: Table | None = None,
         records: Sequence[Record] | None = None) -> None:
    """Print one table in *output*'s form.

    *wide* is the table with every column (default: *table*); *records* the rows for json and
    csv (default: the wide table's cells).
    """
    shown = wide if wide is not None and output is not Output.TABLE else table
    if output in (Output.TABLE, Output.WIDE):
        table_console().print(shown)
        return
    rows = list(records) if records is not None else records_of(shown)
    if output is Output.JSON:
        typer.echo(json.dumps(rows, indent=2, default=str))
    else:
        write_csv(rows)


def emit_all(tables: Mapping[str, Table], output: Output,
             records: Mapping[str, Sequence[Record]] | None = None) -> None:
    """Print several tables: json as one object keyed by *tables*' names, csv as one block per
    table (its header row first) separated by a blank line."""
    if output in (Output.TABLE, Output.WIDE):
        console = table_console()
        for table in tables.values():
            console.print(table)
        return
    rows = {name: list(records[name]) if records is not None and name in records
            else records_of(table) for name, table in tables.items()}
    if output is Output.JSON:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for index, block in enumerate(rows.values()):
        if index:
            sys.stdout.write("\n")
        write_csv(block)


def write_csv(rows: Sequence[Record]) -> None:
    """*rows* as CSV on stdout, the first row's keys as the header (nothing for no rows)."""
    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def _plain(cell: object) -> str:
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return str(cell)


def pick_output(output: Output, as_json: bool) -> Output:
    """``-o``, or json where the older ``--json`` flag asks for it."""
    return Output.JSON if as_json else output
