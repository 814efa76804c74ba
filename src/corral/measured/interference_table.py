"""The interference table: how much each workload slows down beside each other one on a GPU.

``corral profile interference`` writes it; the simulator's sharing summary and the
InterferenceScore plugin read it. A CSV file with ``# key: value`` metadata lines first::

    # source: measured            (or "placeholder": then it is not a measurement)
    # gpu: NVIDIA H200
    # driver: 580.65.06
    # date: 2025-01-31
    # unit: steps/s
    workload,partner,share,alone_throughput,paired_throughput,slowdown,workload_util,partner_util
    gemm,copy,0.5,41.2,33.0,1.248,0.46,0.31

One row per workload beside a partner, both at compute share ``share`` under MPS: its
throughput alone at that share, beside the partner, and ``slowdown`` = alone / paired (1 = no
interference; the share's own cap is not counted). ``workload_util`` and ``partner_util`` are
the GPU utilisation (0-1 of the whole GPU) each reached running alone at that share, empty
where not measured: they let the rule of thumb "pack only while utilisation stays at or below
70%" be checked against the slowdowns (:func:`check_rule`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from corral.measured.commented_csv import (
    format_commented_csv,
    parse_number,
    read_commented_csv,
    read_table_file,
)
from corral.model import ConfigError

COLUMNS = ("workload", "partner", "share", "alone_throughput", "paired_throughput", "slowdown",
           "workload_util", "partner_util")
REQUIRED = ("workload", "partner", "share", "slowdown")
DEFAULT_TABLE = "interference.csv"
"""The table shipped in ``corral/measured/tables/``; see its header for what it is."""


@dataclass(frozen=True)
class PairSlowdown:
    """One row: *workload* beside *partner*, both at compute share *share*."""

    workload: str
    partner: str
    share: float
    slowdown: float
    alone: float | None = None
    paired: float | None = None
    workload_util: float | None = None
    partner_util: float | None = None

    @property
    def summed_util(self) -> float | None:
        """Both workloads' utilisation alone, added: what the rule of thumb looks at."""
        if self.workload_util is None or self.partner_util is None:
            return None
        return self.workload_util + self.partner_util


class InterferenceTable:
    """The rows and the metadata of an interference table (see the module docstring)."""

    def __init__(self, rows: Sequence[PairSlowdown], meta: Mapping[str, str] | None = None,
                 origin: str = "interference table") -> None:
        if not rows:
            raise ConfigError(f"{origin}: the interference table has no rows")
        self.rows = tuple(rows)
        self.meta: Mapping[str, str] = MappingProxyType(dict(meta or {}))
        self.origin = origin
        self._by_pair: dict[tuple[str, str], list[PairSlowdown]] = {}
        by_workload: dict[str, list[float]] = {}
        by_partner: dict[str, list[float]] = {}
        for row in self.rows:
            self._by_pair.setdefault((row.workload, row.partner), []).append(row)
            by_workload.setdefault(row.workload, []).append(row.slowdown)
            by_partner.setdefault(row.partner, []).append(row.slowdown)
        self._workload_mean = {w: statistics.fmean(v) for w, v in by_workload.items()}
        self._partner_mean = {p: statistics.fmean(v) for p, v in by_partner.items()}
        self.mean_slowdown = statistics.fmean(r.slowdown for r in self.rows)

    @property
    def measured(self) -> bool:
        """False for a placeholder: a table whose header does not say ``source: measured``."""
        return self.meta.get("source", "").strip().lower() == "measured"

    @property
    def workloads(self) -> tuple[str, ...]:
        return tuple(sorted({r.workload for r in self.rows} | {r.partner for r in self.rows}))

    def slowdown(self, workload: str | None, partner: str | None, share: float) -> float:
        """How much *workload* slows beside *partner* at about *share*.

        The pair's rows at the share nearest *share* (averaged); a pair not measured falls back
        to the workload's mean beside any partner, then to the partner's mean effect on any
        workload, then to the table's mean: an unknown job is assumed typical, not harmless.
        """
        rows = self._by_pair.get((workload, partner)) if workload and partner else None
        if rows:
            return statistics.fmean(r.slowdown for r in _nearest(rows, share))
        if workload and workload in self._workload_mean:
            return self._workload_mean[workload]
        if partner and partner in self._partner_mean:
            return self._partner_mean[partner]
        return self.mean_slowdown

    def utilisation(self, workload: str | None, share: float) -> float | None:
        """GPU utilisation (0-1) *workload* reached alone at the share nearest *share*, or None
        when the table has none for it."""
        if not workload:
            return None
        rows = [r for r in self.rows if r.workload == workload and r.workload_util is not None]
        rows += [PairSlowdown(r.partner, r.workload, r.share, r.slowdown,
                              workload_util=r.partner_util)
                 for r in self.rows if r.partner == workload and r.partner_util is not None]
        if not rows:
            return None
        return statistics.fmean(r.workload_util for r in _nearest(rows, share))  # type: ignore[misc]


def _nearest(rows: Sequence[PairSlowdown], share: float) -> list[PairSlowdown]:
    best = min(abs(r.share - share) for r in rows)
    return [r for r in rows if abs(r.share - share) == best]


# -- reading and writing ----------------------------------------------------------------------
def read_interference_table(path: str | Path) -> InterferenceTable:
    """The table in the CSV file at *path*; every problem is a ConfigError naming the file."""
    return parse_interference_table(read_table_file(path, "interference table"), str(path))


def default_interference_table() -> InterferenceTable:
    """The table shipped with Corral: measured on an H200 under MPS (see its header)."""
    source = resources.files("corral.measured").joinpath("tables", DEFAULT_TABLE)
    return parse_interference_table(source.read_text(encoding="utf-8"),
                                    f"corral/measured/tables/{DEFAULT_TABLE}")


def parse_interference_table(text: str, origin: str) -> InterferenceTable:
    """Parse table *text*; *origin* names it in errors (``<origin>: line N: <problem>``)."""
    meta, raw_rows = read_commented_csv(text, origin, COLUMNS, REQUIRED)
    rows = []
    for where, raw in raw_rows:
        workload, partner = (raw.get("workload") or "").strip(), (raw.get("partner") or "").strip()
        if not workload or not partner:
            raise ConfigError(f"{where}: workload and partner must be named")
        share = _number(raw, "share", where, low=0.0, low_open=True, high=1.0)
        slowdown = _number(raw, "slowdown", where, low=0.0, low_open=True)
        rows.append(PairSlowdown(
            workload, partner, share, slowdown,  # type: ignore[arg-type]
            alone=_number(raw, "alone_throughput", where, low=0.0, optional=True),
            paired=_number(raw, "paired_throughput", where, low=0.0, optional=True),
            workload_util=_number(raw, "workload_util", where, low=0.0, high=1.0, optional=True),
            partner_util=_number(raw, "partner_util", where, low=0.0, high=1.0, optional=True)))
    return InterferenceTable(rows, meta, origin)


def _number(raw: Mapping[str, str | None], column: str, where: str, *, low: float,
            low_open: bool = False, high: float | None = None,
            optional: bool = False) -> float | None:
    text = (raw.get(column) or "").strip()
    if not text:
        if optional:
            return None
        raise ConfigError(f"{where}: {column} is empty")
    return parse_number(text, column, where, low=low, low_open=low_open, high=high)


def format_interference_table(rows: Iterable[PairSlowdown], meta: Mapping[str, str]) -> str:
    """The CSV text of *rows* with *meta* as ``# key: value`` lines (the format read above)."""
    return format_commented_csv(meta, COLUMNS, (
        [r.workload, r.partner, f"{r.share:g}", _cell(r.alone, 3), _cell(r.paired, 3),
         f"{r.slowdown:.3f}", _cell(r.workload_util, 3), _cell(r.partner_util, 3)]
        for r in rows))


def _cell(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


# -- the rule of thumb ------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleCheck:
    """Does "pack only while summed utilisation <= *max_utilisation*" keep every co-located
    workload within *max_slowdown*, on this table?

    ``holds`` is None when no row within the threshold was measured (nothing to check: rows
    without utilisation, or only pairs above the threshold), True when every row within the
    threshold keeps its slowdown within the bound, False otherwise.
    ``beyond_ok`` says how many rows the rule would forbid although they were within the bound
    (what the rule costs in packing).
    """

    max_utilisation: float
    max_slowdown: float
    within: tuple[PairSlowdown, ...]
    beyond: tuple[PairSlowdown, ...]
    unknown: int
    measured: bool

    @property
    def violations(self) -> tuple[PairSlowdown, ...]:
        return tuple(r for r in self.within if r.slowdown > self.max_slowdown)

    @property
    def holds(self) -> bool | None:
        if not self.within:
            return None
        return not self.violations

    @property
    def beyond_ok(self) -> int:
        return sum(1 for r in self.beyond if r.slowdown <= self.max_slowdown)

    @property
    def worst_within(self) -> float | None:
        return max((r.slowdown for r in self.within), default=None)

    def summary(self) -> str:
        """One paragraph a person can act on."""
        head = (f"rule: pack while summed GPU utilisation <= {self.max_utilisation:.0%}; "
                f"bound: slowdown <= {self.max_slowdown:g}")
        if not self.measured:
            head += "\nthe table is a placeholder, not a measurement: this says nothing yet"
        if self.holds is None:
            return (f"{head}\nundetermined: no pair within the threshold was measured "
                    f"({len(self.beyond)} above it, {self.beyond_ok} of them within the bound "
                    f"anyway; {self.unknown} rows without utilisation)")
        verdict = "HOLDS" if self.holds else "DOES NOT HOLD"
        lines = [head, f"{verdict}: {len(self.within)} pairs within the threshold, worst "
                       f"slowdown {self.worst_within or 0:.3f}; {len(self.violations)} beyond "
                       "the bound"]
        lines += [f"  {r.workload} beside {r.partner} at share {r.share:g}: utilisation "
                  f"{r.summed_util:.0%}, slowdown {r.slowdown:.3f}" for r in self.violations]
        lines.append(f"{len(self.beyond)} pairs above the threshold, {self.beyond_ok} of them "
                     f"within the bound anyway; {self.unknown} rows without utilisation")
        return "\n".join(lines)


def check_rule(table: InterferenceTable, max_utilisation: float = 0.7,
               max_slowdown: float = 1.25) -> RuleCheck:
    """Split the table's rows by the rule of thumb and compare their slowdowns with the bound."""
    if not 0 < max_utilisation <= 2:
        raise ConfigError(f"max utilisation must be in (0, 2] (0.7 = 70%), got {max_utilisation}")
    if not max_slowdown >= 1:
        raise ConfigError(f"max slowdown must be >= 1 (1.25 = 25% slower), got {max_slowdown}")
    within, beyond, unknown = [], [], 0
    for row in table.rows:
        util = row.summed_util
        if util is None:
            unknown += 1
        elif util <= max_utilisation + 1e-9:
            within.append(row)
        else:
            beyond.append(row)
    return RuleCheck(max_utilisation, max_slowdown, tuple(within), tuple(beyond), unknown,
                     table.measured)
