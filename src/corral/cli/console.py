"""Where the CLI writes: results on stdout, progress and errors on stderr.

Keeping them apart lets ``corral simulate --json > summary.json`` capture clean JSON while the
user still sees progress and errors in the terminal. Rich is imported on the first console
made, so ``corral --version`` and the live scheduler's start do not wait for it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_quiet = False
"""Set by ``corral -q``: results and errors only, no remarks or progress."""


def set_verbosity(verbose: int, quiet: bool) -> None:
    """``-v`` (info), ``-vv`` (debug) or ``-q`` (errors only) for Corral's log and remarks;
    neither leaves the log as configured (``corral scheduler``: ``CORRAL_LOG_LEVEL``)."""
    global _quiet
    _quiet = quiet
    if not (verbose or quiet):
        return
    logging.getLogger("corral").setLevel(
        logging.ERROR if quiet else logging.INFO if verbose == 1 else logging.DEBUG)
    if verbose and not logging.getLogger().handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")


def quiet() -> bool:
    """Whether ``-q`` asked for results and errors only."""
    return _quiet


def note(message: str, *, err: bool = False) -> None:
    """One remark (what was written where, what was skipped), as is; none with ``-q``."""
    if not _quiet:
        (stderr() if err else stdout()).print(message, soft_wrap=True, highlight=False,
                                              markup=False)


def stdout() -> Console:
    """A console on the current ``sys.stdout`` (made per call so test runners can swap it)."""
    from rich.console import Console

    return Console()


def stderr() -> Console:
    """A console on the current ``sys.stderr``."""
    from rich.console import Console

    return Console(stderr=True)


def print_error(message: str) -> None:
    """One red ``error: ...`` line on stderr, never wrapped, whatever the message holds."""
    from rich.markup import escape

    line = " ".join(message.split())
    stderr().print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True, highlight=False)


@contextmanager
def job_progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr, fed by a ``progress(done, total)`` callback.

    It draws only on a terminal: redirected output gets no control codes.
    """
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = stderr()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("jobs"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=_quiet or not console.is_terminal,
    ) as progress:
        task = progress.add_task(escape(description), total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@contextmanager
def runs_status(total: int) -> Iterator[Callable[[int, int], None]]:
    """Progress across *total* runs on stderr, fed by an ``on_done(finished, total)`` callback:
    a bar with the time left on a terminal; elsewhere (a log, CI) one plain line per finished
    run with the time elapsed and left, so a long sweep shows it is alive."""
    console = stderr()
    began = time.monotonic()
    if _quiet:
        yield lambda finished, total: None
        return
    if not console.is_terminal:
        def line(finished: int, total: int) -> None:
            elapsed = time.monotonic() - began
            left = f", about {elapsed / finished * (total - finished):.0f} s left" \
                if 0 < finished < total else ""
            print(f"runs: {finished} of {total} finished, {elapsed:.0f} s elapsed{left}",
                  file=sys.stderr, flush=True)

        yield line
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task("runs", total=total)

        def update(finished: int, total: int) -> None:
            progress.update(task, completed=finished, total=total)

        yield update
