"""Which format a trace is in, told from its header line alone (file names are not trusted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from corral.traces import corral_history, helios, itp, openb, philly_pollux
from corral.traces.errors import TraceError
from corral.traces.job_columns import JobColumns
from corral.traces.trace_format import TraceFormat


class FormatReader(NamedTuple):
    """A format and the function that turns its checked rows into job columns."""

    format: TraceFormat
    to_jobs: Callable[..., JobColumns]


READERS = tuple(
    FormatReader(module.FORMAT, module.to_jobs)
    for module in (philly_pollux, itp, helios, openb, corral_history)
)
"""Every readable format, in the order :func:`corral.traces.list_formats` shows them."""

UNREPLAYABLE = {
    frozenset(("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")): (
        "this is an Alibaba openb multigpu* variant: it has no arrival or duration times "
        "(no creation_time, scheduled_time or deletion_time), so it cannot be replayed"
    ),
}
"""Headers of known files that are not job traces, with the reason they cannot be read."""


def detect(header: tuple[str, ...], source: str) -> FormatReader:
    """The reader whose columns the header names (in any order), or a TraceError."""
    names = frozenset(header)
    if len(names) == len(header):
        for reader in READERS:
            needed = frozenset(reader.format.columns)
            if needed <= names <= needed | frozenset(reader.format.optional_columns):
                return reader
    if names in UNREPLAYABLE:
        raise TraceError(f"{source}: line 1: {UNREPLAYABLE[names]}")
    known = "; ".join(f"{r.format.name} ({','.join(r.format.columns)})" for r in READERS)
    shown = ",".join(header)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    raise TraceError(f"{source}: line 1: unknown header {shown!r}; known formats: {known}")
