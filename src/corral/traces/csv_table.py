"""Trace CSV files as string columns, and the row checks every format shares.

Every format reads its file the same way: bytes (gzip recognised by its magic number, not by the
file name), UTF-8 text, a header on line 1, then one row per line. The public traces never quote
a field, so quoting is off and every comma separates fields; a row with the wrong number of
fields (such as the cut last line of a truncated file) is dropped as ``malformed_row``.

Values stay strings until a format asks for a column as numbers. One bad cell then costs one
row, not the whole file, the checks run vectorised over the column, and every dropped row keeps
its file line number so that strict mode can say exactly where the problem is.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd

from corral.traces.errors import TraceError

GZIP_MAGIC = b"\x1f\x8b"

MAX_COUNT = 2**53
"""Largest whole count accepted; beyond it a float no longer holds every integer exactly."""

Describe = str | Callable[[str], str]
"""What is wrong with a bad cell: fixed text, or a function of the cell's text."""


def decode(data: bytes, source: str) -> str:
    """Return the text of a trace file's bytes, gunzipped when they start with the gzip magic."""
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except EOFError:
            raise TraceError(f"{source}: truncated gzip stream (the file was cut short)") from None
        except (OSError, zlib.error) as exc:
            raise TraceError(f"{source}: corrupt gzip data ({exc})") from None
    if b"\x00" in data:
        raise TraceError(f"{source}: binary data, not a CSV text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TraceError(f"{source}: not UTF-8 text (bad byte at offset {exc.start})") from None


def split_lines(text: str, source: str) -> tuple[tuple[str, ...], list[str]]:
    """Split text into the header's column names (line 1) and the lines after it."""
    if not text.strip():
        raise TraceError(f"{source}: empty file, no header and no jobs")
    lines = text.replace("\r\n", "\n").split("\n")
    header = tuple(name.strip() for name in lines[0].split(","))
    return header, lines[1:]


class RowChecks:
    """The rows of one trace table, which of them survive, and why the others were dropped.

    Checks drop rows with a short snake_case *reason*; a row is counted once, under the first
    reason that dropped it. Reasons that mean "this row is wrong" are *errors*: in strict mode
    :meth:`raise_first_error` turns the one on the earliest line into a :class:`TraceError`.
    Reasons that only filter valid rows out (``no_gpu``, ``never_started``) are never errors.
    """

    def __init__(self, source: str, header: tuple[str, ...], body: list[str], *, strict: bool):
        self.source = source
        self.header = header
        self.strict = strict
        self.skipped: Counter[str] = Counter()
        self._errors: list[tuple[int, str]] = []
        width = len(header)
        commas = width - 1
        rows: list[str] = []
        line_numbers: list[int] = []
        for number, line in enumerate(body, start=2):
            if line.count(",") == commas:
                rows.append(line)
                line_numbers.append(number)
            elif line and not line.isspace():
                self._malformed(number, line.count(",") + 1)
        self.lines = np.asarray(line_numbers, dtype=np.int64)
        """File line (1-based) of each row of :attr:`frame`."""
        self.frame = _string_frame(rows, header, source)
        self.keep = np.ones(len(rows), dtype=bool)
        """Rows not dropped so far."""

    def _malformed(self, line: int, fields: int) -> None:
        width = len(self.header)
        self.skipped["malformed_row"] += 1
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

    def number(self, column: str, *, optional: bool = False) -> np.ndarray:
        """Parse a column of finite times >= 0 (seconds); NaN where a cell is empty or bad.

        Empty cells drop the row as ``missing_time`` unless ``optional`` (then the caller
        decides); unparsable or infinite values as ``bad_number``; negative ones as
        ``negative_time``.
        """
        values = _to_floats(self.frame[column])
        empty = self.blank(column, among=np.isnan(values))
        bad = ~np.isfinite(values) & ~empty
        below = np.zeros_like(bad)
        np.less(values, 0, out=below, where=~bad & ~empty)
        if not optional:
            self.drop(empty, "missing_time", column, "empty")
        self.drop(bad, "bad_number", column, lambda cell: f"{cell!r} is not a finite number")
        self.drop(below, "negative_time", column, lambda cell: f"{cell!r} is negative")
        values[bad | below] = np.nan
        return values

    def count(self, column: str, *, reason: str = "bad_gpu_request") -> np.ndarray:
        """Parse a column of whole counts >= 0 (``8`` or ``8.0``); 0 where a cell is bad."""
        values = _to_floats(self.frame[column])
        good = np.isfinite(values)
        good[good] = (values[good] >= 0) & (values[good] == np.floor(values[good]))
        good[good] = values[good] <= MAX_COUNT
        self.drop(~good, reason, column, lambda cell: f"{cell!r} is not a whole number >= 0")
        return np.where(good, values, 0).astype(np.int64)

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
        empty = self.blank(column, among=unreadable)
        self.drop(empty, "missing_time", column, "empty")
        self.drop(
            unreadable & ~empty,
            "bad_number",
            column,
            lambda cell: f"{cell!r} is not a time like {example}",
        )
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


def _string_frame(rows: list[str], header: tuple[str, ...], source: str) -> pd.DataFrame:
    """Parse well-formed rows into string columns with pandas' C parser."""
    if not rows:
        return pd.DataFrame({name: pd.Series([], dtype=str) for name in header})
    frame = pd.read_csv(
        io.StringIO("\n".join(rows)),
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
    if len(frame) != len(rows):
        raise TraceError(f"{source}: could not split the rows into fields consistently")
    return frame


def _to_floats(raw: pd.Series) -> np.ndarray:
    """Numbers of a string column; NaN where a cell is not a number."""
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.array(numbers, dtype=float)  # a writable copy: pandas may hand out read-only views
