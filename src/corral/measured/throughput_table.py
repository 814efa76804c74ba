"""The throughput table: how fast each job class runs on each GPU type, relative to a reference.

Gavel's throughput matrix (Narayanan et al., OSDI'20, §3.1), measured by trial runs rather than
assumed: ``corral trial export`` writes it from the stored trial results, the HeterogeneityAware
score reads it per job class, and the simulator reads its per-type summary (``[gpu_speed]`` in a
sim config, since trace jobs carry no class). A CSV file with ``# key: value`` metadata lines::

    # source: trial runs
    # reference: per class, the speed on A100 is 1.0
    job_class,gpu_type,relative_speed,throughput,unit,trials
    team-a/bert,A100,1.0,410.2,samples/s,2
    team-a/bert,T4,0.21,86.1,samples/s,1

``relative_speed`` (> 0) is what placement and the progress model use; ``throughput`` (per GPU
worth of compute), ``unit`` and ``trials`` say where it came from and may be empty.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from corral.measured.commented_csv import (
    format_commented_csv,
    parse_number,
    read_commented_csv,
    read_table_file,
)
from corral.model import ConfigError

COLUMNS = ("job_class", "gpu_type", "relative_speed", "throughput", "unit", "trials")
REQUIRED = ("job_class", "gpu_type", "relative_speed")


@dataclass(frozen=True)
class ThroughputRow:
    job_class: str
    gpu_type: str
    relative_speed: float
    throughput: float | None = None
    unit: str = ""
    trials: int | None = None


class ThroughputTable:
    """Relative speed by job class and GPU type (see the module docstring)."""

    def __init__(self, rows: Iterable[ThroughputRow], meta: Mapping[str, str] | None = None,
                 origin: str = "throughput table") -> None:
        self.rows = tuple(rows)
        if not self.rows:
            raise ConfigError(f"{origin}: the throughput table has no rows")
        self.meta: Mapping[str, str] = MappingProxyType(dict(meta or {}))
        self.origin = origin
        self._speeds: dict[str, dict[str, float]] = {}
        for row in self.rows:
            per_type = self._speeds.setdefault(row.job_class, {})
            if row.gpu_type in per_type:
                raise ConfigError(f"{origin}: {row.job_class} on {row.gpu_type} is listed twice")
            per_type[row.gpu_type] = row.relative_speed

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(sorted(self._speeds))

    def speeds_of(self, job_class: str) -> Mapping[str, float] | None:
        """GPU type -> relative speed for *job_class*, or None if it was not measured."""
        speeds = self._speeds.get(job_class)
        return MappingProxyType(speeds) if speeds is not None else None

    def type_speeds(self) -> dict[str, float]:
        """Per GPU type, the geometric mean over the classes measured on it: the per-type
        speed the simulator's ``[gpu_speed]`` holds (geometric, because speeds are ratios)."""
        logs: dict[str, list[float]] = {}
        for per_type in self._speeds.values():
            for gpu_type, speed in per_type.items():
                logs.setdefault(gpu_type, []).append(math.log(speed))
        return {t: math.exp(sum(v) / len(v)) for t, v in sorted(logs.items())}


def read_throughput_table(path: str | Path) -> ThroughputTable:
    """The table in the CSV file at *path*; every problem is a ConfigError naming the file."""
    return parse_throughput_table(read_table_file(path, "throughput table"), str(path))


def parse_throughput_table(text: str, origin: str) -> ThroughputTable:
    """Parse table *text*; *origin* names it in errors (``<origin>: line N: <problem>``)."""
    meta, raw_rows = read_commented_csv(text, origin, COLUMNS, REQUIRED)
    rows = []
    for where, raw in raw_rows:
        job_class, gpu_type = (raw["job_class"] or "").strip(), (raw["gpu_type"] or "").strip()
        if not job_class or not gpu_type:
            raise ConfigError(f"{where}: job_class and gpu_type must be named")
        speed = _positive(raw.get("relative_speed"), "relative_speed", where)
        throughput = (raw.get("throughput") or "").strip()
        trials = (raw.get("trials") or "").strip()
        if trials and not trials.isdigit():
            raise ConfigError(f"{where}: trials must be a whole number, got {trials!r}")
        rows.append(ThroughputRow(
            job_class, gpu_type, speed,
            _positive(throughput, "throughput", where) if throughput else None,
            (raw.get("unit") or "").strip(), int(trials) if trials else None))
    return ThroughputTable(rows, meta, origin)


def _positive(text: str | None, column: str, where: str) -> float:
    return parse_number(text, column, where, low=0.0, low_open=True)


def format_throughput_table(rows: Iterable[ThroughputRow], meta: Mapping[str, str]) -> str:
    """The CSV text of *rows* with *meta* as ``# key: value`` lines (the format read above)."""
    return format_commented_csv(meta, COLUMNS, (
        [r.job_class, r.gpu_type, f"{r.relative_speed:.4g}",
         "" if r.throughput is None else f"{r.throughput:.6g}", r.unit,
         "" if r.trials is None else r.trials] for r in rows))
