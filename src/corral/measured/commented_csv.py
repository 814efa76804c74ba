"""The file format both measured tables share: ``# key: value`` metadata lines, then a CSV.

One reader and one writer, so the interference and throughput tables report mistakes alike
(``<origin>: line N: <problem>``) and keep their provenance (GPU, driver, date) the same way.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from corral.model import ConfigError


def read_table_file(path: str | Path, what: str) -> str:
    """The text of the table file at *path*; a ConfigError naming the file and *what* it is
    when it cannot be read or is not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the {what} is not UTF-8 text") from None


def read_commented_csv(text: str, origin: str, columns: Sequence[str],
                       required: Sequence[str]) -> tuple[dict[str, str], list[tuple[str, dict]]]:
    """The metadata (a key given twice is joined) and the non-blank rows, each with the
    ``<origin>: line N`` that names it in errors; bad headers and ragged rows are refused."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines)
                  if line.strip() and not line.strip().startswith("#")), None)
    if start is None:
        raise ConfigError(f"{origin}: no header line (expected {','.join(required)}, ...)")
    meta: dict[str, str] = {}
    for line in lines[:start]:
        key, sep, value = line.strip().lstrip("#").partition(":")
        if sep and key.strip():
            name = key.strip().lower()
            meta[name] = f"{meta[name]} {value.strip()}" if name in meta else value.strip()
    reader = csv.DictReader(io.StringIO("\n".join(lines[start:])))
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in columns]
    if missing or unknown:
        problem = f"missing column(s) {', '.join(missing)}" if missing else \
            f"unknown column(s) {', '.join(unknown)}"
        raise ConfigError(f"{origin}: line {start + 1}: {problem} "
                          f"(expected {','.join(columns)})")
    rows = []
    for number, raw in enumerate(reader, start=start + 2):
        if not any((v or "").strip() for v in raw.values()):
            continue
        where = f"{origin}: line {number}"
        if None in raw:
            raise ConfigError(f"{where}: more fields than columns")
        rows.append((where, raw))
    return meta, rows


def parse_number(text: str | None, column: str, where: str, *, low: float,
                 low_open: bool = False, high: float | None = None) -> float:
    """A finite number within bounds (``> low`` with *low_open*, else ``>= low``)."""
    text = (text or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{where}: {column} {text!r} is not a number") from None
    bad_low = value <= low if low_open else value < low
    if not math.isfinite(value) or bad_low or (high is not None and value > high):
        bound = f"{'>' if low_open else '>='} {low:g}" + \
            (f" and <= {high:g}" if high is not None else "")
        raise ConfigError(f"{where}: {column} must be a number {bound}, got {text}")
    return value


def format_commented_csv(meta: Mapping[str, str], columns: Sequence[str],
                         rows: Iterable[Sequence[object]]) -> str:
    """The CSV text of *rows* under *meta* as ``# key: value`` lines (the format read above)."""
    out = io.StringIO()
    for key, value in meta.items():
        out.write(f"# {key}: {value}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
