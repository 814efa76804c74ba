"""``read_trace``: any supported trace file (or the bundled sample) to a sorted list of jobs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from corral.model import Job
from corral.traces.csv_table import RowChecks, split_header, trace_lines
from corral.traces.detect import READERS, detect
from corral.traces.errors import TraceError
from corral.traces.job_columns import build_jobs
from corral.traces.trace_format import TraceFormat

SAMPLE_FILE = "philly-pollux-sample.csv.gz"
"""The bundled sample: the first 2,000 Philly jobs by submit time (see samples/README.md)."""
SAMPLE_NAME = "sample"
SAMPLE_SOURCE = "bundled sample"
# The sample names no cluster: its 2,000 jobs never queue on Philly's 552 servers, so a first
# run would show every policy alike. It is sized `auto` (load 0.8, 39 8-GPU nodes) instead.


@dataclass(frozen=True)
class Trace:
    """The jobs of one trace file, ready to replay.

    ``jobs`` are sorted by submit time (stable) and re-based so that the first submits at 0.0.
    ``skipped`` counts the rows left out, by reason. ``cluster`` names the cluster preset
    published with the trace, if any.
    """

    name: str
    format: str
    source: str
    jobs: list[Job]
    skipped: dict[str, int]
    cluster: str | None


def list_formats() -> list[TraceFormat]:
    """Every format :func:`read_trace` recognises, in detection order."""
    return [reader.format for reader in READERS]


def read_trace(
    path: str | os.PathLike[str] | None = None,
    *,
    strict: bool = False,
    limit: int | None = None,
    include_cpu_jobs: bool = False,
) -> Trace:
    """Read a trace file (gzip or plain CSV, format told from its header).

    ``path=None`` reads the bundled 2,000-job Philly sample. Bad rows are skipped and counted
    in :attr:`Trace.skipped`; with ``strict`` the first bad row raises :class:`TraceError`
    instead (rows filtered out on purpose, ``no_gpu`` and ``never_started``, never raise).
    A file is read as a stream (see :mod:`corral.traces.csv_table` for its limits); one too
    big for the memory at hand is a :class:`TraceError` too.
    ``limit`` keeps the first N jobs by submit time. 0-GPU jobs are skipped unless
    ``include_cpu_jobs``, which keeps them as CPU-only jobs.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise TraceError(f"limit must be a whole number >= 1, got {limit!r}")
    if path is None:
        source, name = SAMPLE_SOURCE, SAMPLE_NAME
        opened = files("corral.traces").joinpath("samples").joinpath(SAMPLE_FILE).open("rb")
    else:
        source, name = os.fspath(path), _stem(path)
        try:
            opened = open(path, "rb")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            raise TraceError(f"{source}: cannot read the file ({exc.strerror or exc})") from None
    try:
        with opened as stream:
            lines = trace_lines(stream, source)
            header = split_header(lines, source)
            reader = detect(header, source)
            rows = RowChecks(source, header, lines, strict=strict)
        columns = reader.to_jobs(rows, include_cpu_jobs=include_cpu_jobs)
        rows.raise_first_error()
        skipped = dict(sorted(rows.skipped.items()))
        if not rows.keep.any():
            if not rows.rows and not skipped:
                raise TraceError(f"{source}: no jobs, the file has only a header")
            counts = ", ".join(f"{reason} {count:,}" for reason, count in skipped.items())
            raise TraceError(f"{source}: no usable jobs, every row was skipped ({counts})")
        jobs = build_jobs(columns, rows, limit)
    except MemoryError:
        # A file within the line limit may still hold more rows than this machine's memory.
        raise TraceError(f"{source}: not enough memory to read this trace") from None
    return Trace(
        name=name,
        format=reader.format.name,
        source=source,
        jobs=jobs,
        skipped=skipped,
        cluster=None if path is None else reader.format.cluster,
    )


def _stem(path: str | os.PathLike[str]) -> str:
    """``traces/cluster04.csv.gz`` -> ``cluster04``."""
    name = Path(path).name
    for suffix in (".gz", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or Path(path).name
