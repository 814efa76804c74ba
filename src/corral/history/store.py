"""The history store behind one small interface, on SQLAlchemy 2 (SQLite or PostgreSQL).

Opening a store brings its schema up to date with the package's Alembic migrations, so an
empty SQLite file or PostgreSQL database needs no set-up.

A database URL may carry a password (``postgresql+psycopg://USER:PASSWORD@HOST/DB``): every
message and error the store gives shows the URL with the password as ``***``, and database
errors are re-raised as :class:`HistoryError` with the driver's words (the password scrubbed
from them too) and without the original exception chained, so a log line or a traceback
never carries it.
"""

from __future__ import annotations

import contextlib
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from itertools import islice
from typing import Any

from sqlalchemy import URL, Connection, Engine, and_, create_engine, func, make_url, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from corral.history import DEFAULT_URL
from corral.history.schema import OUTCOMES, attempts, trials
from corral.model import ConfigError, CorralError

BATCH_ROWS = 500
"""Rows per transaction on import: a killed import keeps the batches committed before it."""

STATS_KEYS = ("user", "queue")
_TRIAL_FIELDS = {"job_key", "gpu_type", "gpus", "share", "throughput", "unit", "measured_at",
                 "source"}


class HistoryError(CorralError):
    """The history database could not be reached or refused a statement (the message names
    the database with its password hidden)."""


@dataclass(frozen=True)
class StatsRow:
    """What one user or queue used: GPU-hours, attempts, and run durations in seconds."""

    key: str
    jobs: int
    gpu_hours: float
    median_duration: float
    p90_duration: float
    profiled: int = 0
    """Attempts with a measured GPU profile (from the node agent); the fields below are
    None when there is none."""
    avg_gpu_util: float | None = None
    """Mean of the profiled attempts' average GPU utilisation (fraction of what they held)."""
    peak_gpu_util: float | None = None
    peak_gpu_mem_mib: float | None = None


class HistoryStore:
    """One row per job attempt, keyed by (source, job id, attempt)."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = masked_url(url)
        """The database URL as it may be shown: its password hidden."""
        self._secrets = _secrets(url)
        try:
            self._engine: Engine = create_engine(_with_driver(url))
            self._insert = _insert_ignoring_duplicates(self._engine.dialect.name, self.url)
            _upgrade(self._engine)
        except (ArgumentError, SQLAlchemyError, ImportError, ValueError) as exc:
            raise ConfigError(f"history database {self.url}: {self._scrub(exc)}") from None

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _connection(self, *, begin: bool = False) -> Iterator[Connection]:
        """A connection (in a transaction with *begin*); database errors become HistoryError."""
        try:
            with self._engine.begin() if begin else self._engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise HistoryError(f"history database {self.url}: {self._scrub(exc)}") from None

    def _scrub(self, exc: BaseException) -> str:
        """The first line of *exc*'s message without the URL's password in any spelling."""
        text = _first_line(exc)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _mask_userinfo(text)

    def add_attempts(self, rows: Iterable[Mapping[str, Any]],
                     batch_rows: int = BATCH_ROWS) -> int:
        """Insert the rows not stored yet, one transaction per batch; return how many were new.

        Whole rows only: a batch commits entirely or not at all, so a process killed mid-import
        leaves the batches before it, and importing again fills in the rest.
        """
        added = 0
        for batch in _batches(rows, batch_rows):
            for row in batch:
                _check(row)
            with self._connection(begin=True) as conn:
                # RETURNING yields the inserted rows only: rowcount is unknown for batches.
                added += len(conn.execute(self._insert, batch).all())
        return added

    def record_profile(self, row: Mapping[str, Any]) -> None:
        """Store one pod's measured GPU profile on its job attempt.

        A new attempt is added whole; an attempt already stored (imported, or written by the
        scheduler or by another pod of the same job) keeps its record and gets the profile
        merged in: averages weighted by the pods profiled so far, peaks by maximum, achieved
        GPU shares summed over the pods.
        """
        _check(row)
        key = and_(attempts.c.source == row["source"], attempts.c.job_id == row["job_id"],
                   attempts.c.attempt == row["attempt"])
        with self._connection(begin=True) as conn:
            stored = conn.execute(select(attempts).where(key)).first()
            if stored is None:
                conn.execute(attempts.insert().values(**row, profiled_pods=1))
                return
            old = stored._mapping
            pods = old["profiled_pods"] or 0
            conn.execute(update(attempts).where(key).values(
                gpu_util=_weighted(old["gpu_util"], pods, row["gpu_util"]),
                gpu_util_peak=_merged(old["gpu_util_peak"], row["gpu_util_peak"], max),
                gpu_mem_peak_mib=_merged(old["gpu_mem_peak_mib"], row["gpu_mem_peak_mib"], max),
                gpu_share_achieved=_merged(old["gpu_share_achieved"], row["gpu_share_achieved"],
                                           operator.add),
                profiled_pods=pods + 1))

    def attempts(self, since: float | None = None,
                 latest: int | None = None) -> list[dict[str, Any]]:
        """Stored attempts, oldest end first; ``since`` keeps those that ended at or after it,
        ``latest`` only that many of the last to end (read as such, not all then cut)."""
        order = (attempts.c.end, attempts.c.source, attempts.c.job_id, attempts.c.attempt)
        query = select(attempts)
        if since is not None:
            query = query.where(attempts.c.end >= since)
        if latest is not None:
            query = query.order_by(*(column.desc() for column in order)).limit(latest)
        else:
            query = query.order_by(*order)
        with self._connection() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        return rows[::-1] if latest is not None else rows

    def add_trials(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store trial results (columns of ``trial_runs`` but ``id``); return how many."""
        batch = [dict(row) for row in rows]
        for row in batch:
            missing = _TRIAL_FIELDS - set(row)
            if missing:
                raise ConfigError(f"trial result for {row.get('job_key', '?')!r}: missing "
                                  f"{', '.join(sorted(missing))}")
            if not row["throughput"] > 0 or row["gpus"] < 0 or not 0 < row["share"] <= 1:
                raise ConfigError(f"trial result for {row['job_key']!r}: throughput must be "
                                  "> 0, gpus >= 0 and share in (0, 1]")
        if batch:
            with self._connection(begin=True) as conn:
                conn.execute(trials.insert(), batch)
        return len(batch)

    def trials(self, job_key: str | None = None) -> list[dict[str, Any]]:
        """Stored trial results, oldest first; ``job_key`` keeps one job's."""
        query = select(trials).order_by(trials.c.measured_at, trials.c.id)
        if job_key is not None:
            query = query.where(trials.c.job_key == job_key)
        with self._connection() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def count(self) -> int:
        with self._connection() as conn:
            return conn.execute(select(func.count()).select_from(attempts)).scalar_one()

    def stats(self, by: str = "user", since: float | None = None) -> list[StatsRow]:
        """GPU-hours, attempts and median / p90 run duration per user or queue, by key.

        Percentiles are taken here rather than in SQL, which SQLite lacks.
        """
        if by not in STATS_KEYS:
            raise ConfigError(f"stats by {by!r}: expected one of {', '.join(STATS_KEYS)}")
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in self.attempts(since):
            groups.setdefault(row[by], []).append(row)
        return [_summarise(key, groups[key]) for key in sorted(groups)]

def _insert_ignoring_duplicates(dialect: str, url: str) -> Any:
    """An insert that skips rows already stored and returns the ones it added."""
    if dialect == "sqlite":
        insert = sqlite.insert(attempts)
    elif dialect == "postgresql":
        insert = postgresql.insert(attempts)
    else:
        raise ConfigError(f"history database {url!r}: {dialect} is not supported "
                          "(use SQLite or PostgreSQL)")
    return insert.on_conflict_do_nothing().returning(attempts.c.job_id)


def _upgrade(engine: Engine) -> None:
    # Imported here: a process that never opens a store (the node agent without a history
    # database) does not pay for importing alembic.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("corral.history") / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def masked_url(url: str | URL) -> str:
    """*url* as it may be printed: its password replaced by ``***`` (SQLAlchemy's own masking);
    a URL SQLAlchemy cannot parse has whatever stands between ``user:`` and ``@`` masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _mask_userinfo(str(url))


_USERINFO = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _mask_userinfo(text: str) -> str:
    return _USERINFO.sub(r"\1***@", text)


def _secrets(url: str) -> tuple[str, ...]:
    """The spellings of *url*'s password a message could quote: decoded, and as written."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return ()
    if not password:
        return ()
    raw = str(url).partition("://")[2].rpartition("@")[0].partition(":")[2]
    return tuple(sorted({str(password), raw} - {""}, key=len, reverse=True))


def _with_driver(url: str) -> URL:
    """``postgresql://`` means psycopg 3, the driver we depend on (SQLAlchemy picks psycopg2)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" \
        else parsed


def _check(row: Mapping[str, Any]) -> None:
    if row["outcome"] not in OUTCOMES:
        raise ConfigError(f"job {row['job_id']}: outcome {row['outcome']!r} is not one of "
                          f"{', '.join(OUTCOMES)}")
    if not row["submit"] <= row["start"] <= row["end"]:
        raise ConfigError(f"job {row['job_id']}: expected submit <= start <= end")


def _weighted(average: float | None, count: int, value: float | None) -> float | None:
    """The average of *count* values with *value* added (a missing average counts as none, a
    missing value changes nothing)."""
    if value is None:
        return average
    if average is None or count == 0:
        return value
    return (average * count + value) / (count + 1)


def _merged(current: float | None, value: float | None,
            combine: Callable[[float, float], float]) -> float | None:
    """*current* and *value* combined; a missing one yields the other."""
    if value is None or current is None:
        return current if value is None else value
    return combine(current, value)


def _batches(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _summarise(key: str, rows: list[dict[str, Any]]) -> StatsRow:
    runs = [(row["end"] - row["start"], row["tasks"] * row["gpu_milli"] / 1000) for row in rows]
    durations = sorted(duration for duration, _ in runs)
    utils = [row["gpu_util"] for row in rows if row["gpu_util"] is not None]
    peaks = [row["gpu_util_peak"] for row in rows if row["gpu_util_peak"] is not None]
    memory = [row["gpu_mem_peak_mib"] for row in rows if row["gpu_mem_peak_mib"] is not None]
    return StatsRow(
        key=key,
        jobs=len(runs),
        gpu_hours=sum(duration * gpus for duration, gpus in runs) / 3600,
        median_duration=_percentile(durations, 0.5),
        p90_duration=_percentile(durations, 0.9),
        profiled=sum(1 for row in rows if row["gpu_util"] is not None
                     or row["gpu_mem_peak_mib"] is not None),
        avg_gpu_util=sum(utils) / len(utils) if utils else None,
        # A profile without a peak (imported utilisation) still bounds the peak from below.
        peak_gpu_util=max(peaks + utils) if peaks or utils else None,
        peak_gpu_mem_mib=max(memory) if memory else None,
    )


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on a sorted list."""
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
