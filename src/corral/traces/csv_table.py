"""Trace CSV files as string columns, and the row checks every format shares.

Every format reads its file the same way: bytes (gzip recognised by its magic number, not by the
file name), UTF-8 text, a header on line 1, then one row per line. The public traces never quote
a field, so quoting is off and every comma separates fields; a row with the wrong number of
fields (such as the cut last line of a truncated file) is dropped as ``malformed_row``.

Files are read as a stream, 256 KiB at a time, gunzipped on the way: blank lines cost only
their count, so a small gzip that inflates to gigabytes of newlines takes no memory. A file has
at most :data:`MAX_LINES` lines (blank ones included) of at most :data:`MAX_LINE_CHARS`
characters each; beyond either the file is refused with its line number, so no input exhausts
memory or time.

Values stay strings until a format asks for a column as numbers. One bad cell then costs one
row, not the whole file, the checks run vectorised over the column, and every dropped row keeps
its file line number so that strict mode can say exactly where the problem is. Values beyond
what Corral models (:data:`MAX_TIME_S`, a run longer than
:data:`~corral.model.limits.MAX_DURATION_S`, a job of more than
:data:`~corral.model.limits.MAX_JOB_GPUS` GPUs) drop their row as ``out_of_range``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd

from corral.model.limits import MAX_DURATION_S, MAX_JOB_GPUS
from corral.traces.errors import TraceError

GZIP_MAGIC = b"\x1f\x8b"
CHUNK_BYTES = 1 << 18
"""Bytes read (and inflated) at a time."""

MAX_LINES = 20_000_000
"""Lines a trace file may have, blank ones included (the largest public traces have a few
million jobs)."""
MAX_LINE_CHARS = 1 << 20
"""Characters one line may have: a trace row has a few dozen."""
BLOCK_ROWS = 65_536
"""Rows joined into one string at a time while a file is read."""
MAX_COUNT = 2**53
"""Largest whole count accepted; beyond it a float no longer holds every integer exactly."""
MAX_TIME_S = 1e10
"""Largest time a cell may give, in seconds: 2286 as seconds since 1970, while the
traces count from their start or from 1970. Beyond it a float holds a second's fraction too
coarsely for the run times beside it."""

TOO_LONG = f"a run of more than {MAX_DURATION_S:,} s (10 years), Corral's limit"
Describe = str | Callable[[str], str]
"""What is wrong with a bad cell: fixed text, or a function of the cell's text."""


def trace_lines(stream: io.BufferedReader, source: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of line 1 and of every later line that is not blank, in a trace file
    (gunzipped when it starts with the gzip magic), ``\\r\\n`` ends taken as ``\\n``, read one
    chunk at a time. Empty lines are skipped without a Python step each.

    Raises :class:`TraceError` for corrupt or truncated gzip data, binary (NUL) bytes, text that
    is not UTF-8, more than :data:`MAX_LINES` lines or a line longer than
    :data:`MAX_LINE_CHARS`.
    """
    compressed = _read(stream.peek, 2, source)[:2] == GZIP_MAGIC
    inner: BinaryIO = gzip.GzipFile(fileobj=stream, mode="rb") if compressed else stream
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes decoded before the current chunk
    number = 0  # lines handed out so far
    partial = ""
    while True:
        chunk = _read(inner.read, CHUNK_BYTES, source)
        if b"\x00" in chunk:
            raise TraceError(f"{source}: binary data, not a CSV text file")
        buffered = len(decoder.getstate()[0])
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            at = offset - buffered + exc.start
            raise TraceError(f"{source}: not UTF-8 text (bad byte at offset {at})") from None
        if offset == 0 and text.startswith("\ufeff"):
            text = text[1:]
        offset += len(chunk)
        lines = (partial + text).split("\n")
        partial = lines.pop()
        # Lengths in one array: empty lines are found, and skipped, without a Python step each.
        lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
        if len(partial) > MAX_LINE_CHARS or (lines and lengths.max() > MAX_LINE_CHARS):
            over = np.flatnonzero(lengths > MAX_LINE_CHARS)
            at = int(over[0]) if len(over) else len(lines)
            raise TraceError(f"{source}: line {number + at + 1} is longer than "
                             f"{MAX_LINE_CHARS:,} characters: not a trace row")
        if number + len(lines) >= MAX_LINES:
            raise TraceError(f"{source}: more than {MAX_LINES:,} lines (blank ones included), "
                             "the most a trace may have")
        if number == 0 and lines:
            yield 1, lines[0].removesuffix("\r")  # the header, even when blank
        for at in np.flatnonzero(lengths).tolist():
            line = lines[at]
            if number + at > 0 and not line.isspace():
                yield number + at + 1, line.removesuffix("\r")
        number += len(lines)
        if not chunk:
            break
    if number == 0:
        yield 1, partial
    elif partial and not partial.isspace():
        yield number + 1, partial


def _read(read: Callable[[int], bytes], size: int, source: str) -> bytes:
    """``read(size)``, with gzip and read errors as :class:`TraceError`."""
    try:
        return read(size)
    except EOFError:
        raise TraceError(f"{source}: truncated gzip stream (the file was cut short)") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise TraceError(f"{source}: corrupt gzip data ({exc})") from None
    except OSError as exc:
        raise TraceError(f"{source}: cannot read the file ({exc.strerror or exc})") from None


def split_header(lines: Iterator[tuple[int, str]], source: str) -> tuple[str, ...]:
    """The header's column names (line 1); *lines* goes on after it."""
    _, first = next(lines, (1, ""))
    if not first.strip() and next(lines, None) is None:
        raise TraceError(f"{source}: empty file, no header and no jobs")
    return tuple(name.strip() for name in first.split(","))


class RowChecks:
    """The rows of one trace table, which of them survive, and why the others were dropped.

    Checks drop rows with a short snake_case *reason*; a row is counted once, under the first
    reason that dropped it. Reasons that mean "this row is wrong" are *errors*: in strict mode
    :meth:`raise_first_error` turns the one on the earliest line into a :class:`TraceError`.
    Reasons that only filter valid rows out (``no_gpu``, ``never_started``) are never errors.
    """

    def __init__(self, source: str, header: tuple[str, ...], body: Iterable[tuple[int, str]],
                 *, strict: bool):
        """*body*: (line number, text) of the lines after the header that are not blank."""
        self.source = source
        self.header = header
        self.strict = strict
        self.skipped: Counter[str] = Counter()
        self._errors: list[tuple[int, str]] = []
        width = len(header)
        commas = width - 1
        # Rows are kept joined in blocks and their line numbers as machine integers: a row
        # costs its characters and 8 bytes until pandas splits it, not three Python objects.
        rows: list[str] = []
        blocks: list[str] = []
        line_numbers = array("q")
        for number, line in body:
            if line.count(",") == commas:
                rows.append(line)
                line_numbers.append(number)
                if len(rows) == BLOCK_ROWS:
                    blocks.append("\n".join(rows))
                    rows.clear()
            else:
                self._malformed(number, line.count(",") + 1)
        if rows:
            blocks.append("\n".join(rows))
        self.lines = np.array(line_numbers, dtype=np.int64)
        """File line (1-based) of each row of :attr:`frame`."""
        self.frame = _string_frame(blocks, len(self.lines), header, source)
        self.keep = np.ones(len(self.lines), dtype=bool)
        """Rows not dropped so far."""

    def _malformed(self, line: int, fields: int) -> None:
        """Count a malformed line; only the first is kept for strict mode, so a file of
        millions of them costs no memory."""
        width = len(self.header)
        self.skipped["malformed_row"] += 1
        if self.skipped["malformed_row"] > 1:
            return
        if fields < width:
            missing = f"missing (the row has {fields} of {width} fields)"
            self._errors.append((line, f"line {line}, field {self.header[fields]}: {missing}"))
        else:
            self._errors.append((line, f"line {line}: {fields} fields, the header has {width}"))

    @property
    def rows(self) -> int:
        """Rows read (well-formed ones; malformed lines never become rows)."""
        return len(self.frame)

    def drop(
        self, mask: np.ndarray, reason: str, column: str, describe: Describe, *, error: bool = True
    ) -> None:
        """Drop the rows in ``mask`` that are still kept, counting them under ``reason``."""
        new = mask & self.keep
        dropped = int(np.count_nonzero(new))
        if not dropped:
            return
        self.keep &= ~new
        self.skipped[reason] += dropped
        if error:
            first = int(np.argmax(new))
            cell = self.frame[column].iat[first]
            what = describe if isinstance(describe, str) else describe(cell)
            line = int(self.lines[first])
            self._errors.append((line, f"line {line}, field {column}: {what}"))

    def text(self, column: str) -> np.ndarray:
        """The column's cells as an object array of str."""
        return self.frame[column].to_numpy(dtype=object)

    def blank(self, column: str, among: np.ndarray | None = None) -> np.ndarray:
        """Mask of cells that are empty or only spaces; only rows in ``among`` are looked at.

        Cells that parsed as numbers are never blank, so number checks pass ``among`` to look
        only at the few cells that did not, instead of stripping the whole column.
        """
        cells = self.frame[column].to_numpy(dtype=object)
        rows = np.arange(self.rows) if among is None else np.flatnonzero(among)
        mask = np.zeros(self.rows, dtype=bool)
        mask[rows] = [not cells[row].strip() for row in rows.tolist()]
        return mask

    def require(self, column: str, reason: str) -> None:
        """Drop rows whose cell in ``column`` is empty."""
        self.drop(self.blank(column), reason, column, "empty")

    def number(self, column: str, *, optional: bool = False,
               duration: bool = False) -> np.ndarray:
        """Parse a column of finite times >= 0 (seconds); NaN where a cell is empty or bad.

        Empty cells drop the row as ``missing_time`` unless ``optional`` (then the caller
        decides); unparsable or infinite values as ``bad_number``; negative ones as
        ``negative_time``; values above :data:`MAX_TIME_S` (for a ``duration``, runs longer
        than :data:`~corral.model.limits.MAX_DURATION_S`) as ``out_of_range``.
        """
        values = _to_floats(self.frame[column])
        empty = self.blank(column, among=np.isnan(values))
        bad = ~np.isfinite(values) & ~empty
        below = np.zeros_like(bad)
        np.less(values, 0, out=below, where=~bad & ~empty)
        above = np.zeros_like(bad)
        np.greater(values, MAX_DURATION_S if duration else MAX_TIME_S, out=above,
                   where=~bad & ~empty)
        if not optional:
            self.drop(empty, "missing_time", column, "empty")
        self.drop(bad, "bad_number", column, lambda cell: f"{cell!r} is not a finite number")
        self.drop(below, "negative_time", column, lambda cell: f"{cell!r} is negative")
        self.drop(above, "out_of_range", column, TOO_LONG if duration else
                  lambda cell: f"{cell!r} is beyond {MAX_TIME_S:.0e} s, the latest time Corral "
                               "reads")
        values[bad | below | above] = np.nan
        return values

    def count(self, column: str, *, reason: str = "bad_gpu_request",
              maximum: int = MAX_COUNT) -> np.ndarray:
        """Parse a column of whole counts >= 0 (``8`` or ``8.0``); 0 where a cell is bad.

        Counts above ``maximum`` drop the row as ``out_of_range``.
        """
        values = _to_floats(self.frame[column])
        good = np.isfinite(values)
        good[good] = (values[good] >= 0) & (values[good] == np.floor(values[good]))
        self.drop(~good, reason, column, lambda cell: f"{cell!r} is not a whole number >= 0")
        above = np.zeros_like(good)
        above[good] = values[good] > maximum
        self.drop(above, "out_of_range", column,
                  lambda cell: f"{cell!r} is more than {maximum:,}, Corral's limit")
        return np.where(good & ~above, values, 0).astype(np.int64)

    def too_long(self, duration: np.ndarray, column: str) -> None:
        """Drop rows whose run time (seconds) is longer than
        :data:`~corral.model.limits.MAX_DURATION_S`, as ``out_of_range``."""
        longer = np.zeros(self.rows, dtype=bool)
        np.greater(duration, MAX_DURATION_S, out=longer, where=~np.isnan(duration))
        self.drop(longer, "out_of_range", column, TOO_LONG)

    def too_many_gpus(self, gpus: np.ndarray, column: str) -> None:
        """Drop jobs asking for more than :data:`~corral.model.limits.MAX_JOB_GPUS` GPUs in
        all (``gpus``: each row's total), as ``out_of_range``: no cluster holds them."""
        self.drop(gpus > MAX_JOB_GPUS, "out_of_range", column,
                  f"a job of more than {MAX_JOB_GPUS:,} GPUs, the most a cluster may have")

    def timestamp(self, column: str, pattern: str, example: str) -> np.ndarray:
        """Parse wall-clock timestamps into seconds since 1970 (naive, no time zone).

        Cells must also be as long as ``example``: the traces write fixed-width, zero-padded
        times, so a shorter cell (``17-09-19 02:07:01``) is a damaged one, not the year 17.
        """
        raw = self.frame[column]
        parsed = pd.to_datetime(raw, format=pattern, errors="coerce").to_numpy()
        unreadable = np.isnat(parsed) | (raw.str.len() != len(example)).to_numpy(dtype=bool)
        seconds = parsed.astype("datetime64[us]").astype(np.int64) / 1e6
        seconds[unreadable] = np.nan
        late = np.zeros(self.rows, dtype=bool)
        np.greater(seconds, MAX_TIME_S, out=late, where=~unreadable)
        empty = self.blank(column, among=unreadable)
        self.drop(empty, "missing_time", column, "empty")
        self.drop(
            unreadable & ~empty,
            "bad_number",
            column,
            lambda cell: f"{cell!r} is not a time like {example}",
        )
        self.drop(late, "out_of_range", column,
                  lambda cell: f"{cell!r} is beyond {MAX_TIME_S:.0e} s since 1970, the latest "
                               "time Corral reads")
        seconds[late] = np.nan
        return seconds

    def drop_duplicates(self, column: str) -> None:
        """Drop kept rows whose ``column`` repeats that of an earlier kept row."""
        kept = np.flatnonzero(self.keep)
        repeats = self.frame[column].iloc[kept].duplicated().to_numpy(dtype=bool)
        mask = np.zeros(self.rows, dtype=bool)
        mask[kept[repeats]] = True
        self.drop(mask, "duplicate_id", column, lambda cell: f"{cell!r} repeats an earlier id")

    def raise_first_error(self) -> None:
        """In strict mode, raise for the bad row that comes first in the file."""
        if self.strict and self._errors:
            _, where = min(self._errors)
            raise TraceError(f"{self.source}: {where}")


def _string_frame(blocks: list[str], rows: int, header: tuple[str, ...],
                  source: str) -> pd.DataFrame:
    """Parse well-formed rows (*rows* of them, in blocks of lines) into string columns with
    pandas' C parser."""
    if not rows:
        return pd.DataFrame({name: pd.Series([], dtype=str) for name in header})
    text = "\n".join(blocks)
    blocks.clear()
    frame = pd.read_csv(
        io.StringIO(text),
        header=None,
        names=list(header),
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        quoting=csv.QUOTE_NONE,
        lineterminator="\n",
        skip_blank_lines=False,
        engine="c",
    )
    if len(frame) != rows:
        raise TraceError(f"{source}: could not split the rows into fields consistently")
    return frame


def _to_floats(raw: pd.Series) -> np.ndarray:
    """Numbers of a string column; NaN where a cell is not a number."""
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.array(numbers, dtype=float)  # a writable copy: pandas may hand out read-only views
