"""The history store behind one small interface, on SQLAlchemy 2 (SQLite or PostgreSQL).

Opening a store brings its schema up to date with the package's Alembic migrations, so an
empty SQLite file or PostgreSQL database needs no set-up.

A database URL may carry a password (``postgresql+psycopg://USER:PASSWORD@HOST/DB``): every
message and error the store gives shows the URL with the password as ``***``, and database
errors are re-raised as :class:`HistoryError` with the driver's words (the password scrubbed
from them too) and without the original exception chained, so a log line or a traceback
never carries it.

Several processes may open one database at once (an import beside the live scheduler, a fleet
of importers on a new database): the first migration runs under a lock the database offers
(PostgreSQL's advisory lock; on SQLite a file lock on ``<file>.lock`` beside the database),
and whoever waited reads the schema version again before migrating. A statement that meets
another process's lock waits at most ``lock_wait_s`` seconds (SQLite's busy timeout,
PostgreSQL's ``lock_timeout``), then fails with :class:`HistoryError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import operator
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from itertools import islice
from typing import Any

from sqlalchemy import (
    URL,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    and_,
    create_engine,
    func,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError, SQLAlchemyError

from corral.history import DEFAULT_URL
from corral.history.schema import OUTCOMES, attempts, trials, usage_daily, usage_users
from corral.model import ConfigError, CorralError

BATCH_ROWS = 500
"""Rows per transaction on import: a killed import keeps the batches committed before it."""

LOCK_WAIT_S = 10.0
"""How long a statement waits for a lock another process holds (a writer mid-transaction, a
migration) before it fails: SQLite's busy timeout, PostgreSQL's lock_timeout, and the wait for
the migration lock."""

CONNECT_TIMEOUT_S = 10
"""How long opening a PostgreSQL connection may take (libpq's connect_timeout)."""

MIGRATION_LOCK_KEY = 0x636F7272616C
"""The PostgreSQL advisory lock (one per database) that serialises migrations: "corral"."""

_INT_RANGE = (-(2**31), 2**31 - 1)
"""What an Integer column holds on PostgreSQL (SQLite holds more; rows are checked alike)."""

STATS_KEYS = ("user", "queue")
_TRIAL_FIELDS = {"job_key", "gpu_type", "gpus", "share", "throughput", "unit", "measured_at",
                 "source"}


class HistoryError(CorralError):
    """The history database could not be reached or refused a statement (the message names
    the database with its password hidden)."""

    def __init__(self, message: str, *, refused_data: bool = False) -> None:
        super().__init__(message)
        self.refused_data = refused_data
        """True when the database refused the values written (a constraint or a value its
        column cannot hold), so writing other rows may succeed; False when the database could
        not be reached or run the statement, which no other row would change."""


Reject = Callable[[Mapping[str, Any], str], None]
"""Told each row a store will not keep, with the reason."""


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

    def __init__(self, url: str = DEFAULT_URL, *, lock_wait_s: float = LOCK_WAIT_S) -> None:
        self.url = masked_url(url)
        """The database URL as it may be shown: its password hidden."""
        self.lock_wait_s = lock_wait_s
        self._secrets = _secrets(url)
        try:
            parsed = _with_driver(url)
            self._engine: Engine = create_engine(
                parsed, connect_args=_lock_wait_args(parsed, lock_wait_s))
            self._insert = _insert_ignoring_duplicates(self._engine.dialect.name, self.url)
            _upgrade(self._engine, parsed, lock_wait_s)
        except (ArgumentError, SQLAlchemyError, ImportError, ValueError, OSError) as exc:
            raise ConfigError(f"history database {self.url}: {self._explain(exc)}") from None

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
            raise HistoryError(f"history database {self.url}: {self._explain(exc)}",
                               refused_data=isinstance(exc, IntegrityError | DataError)) from None

    def _explain(self, exc: BaseException) -> str:
        """What went wrong, scrubbed, saying how long a lock was waited for."""
        message = self._scrub(exc)
        if _is_lock_wait(exc):
            message += (f" (waited {self.lock_wait_s:g} s for a lock another process holds: "
                     "a writer mid-transaction or a migration)")
        return message

    def _scrub(self, exc: BaseException) -> str:
        """The first line of *exc*'s message without the URL's password in any spelling."""
        text = _first_line(exc)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _mask_userinfo(text)

    def add_attempts(self, rows: Iterable[Mapping[str, Any]], batch_rows: int = BATCH_ROWS,
                     *, on_reject: Reject | None = None) -> int:
        """Insert the rows not stored yet, one transaction per batch; return how many were new.

        Whole rows only: a batch commits entirely or not at all, so a process killed mid-import
        leaves the batches before it, and importing again fills in the rest.

        A row the store cannot keep (an unknown outcome, times out of order, a text longer or
        a number larger than its column holds) raises :class:`ConfigError` before its batch is
        written; with *on_reject* it is handed there with the reason instead and left out, and
        the rest of its batch is written.
        """
        added = 0
        for batch in _batches(rows, batch_rows):
            kept = []
            for row in batch:
                problem = _problem(row)
                if problem is None:
                    kept.append(row)
                elif on_reject is None:
                    raise ConfigError(f"job {row.get('job_id')!r}: {problem}")
                else:
                    on_reject(row, problem)
            if not kept:
                continue
            with self._connection(begin=True) as conn:
                # RETURNING yields the inserted rows only: rowcount is unknown for batches.
                added += len(conn.execute(self._insert, kept).all())
        return added

    def record_profile(self, row: Mapping[str, Any]) -> None:
        """Store one pod's measured GPU profile on its job attempt.

        A new attempt is added whole; an attempt already stored (imported, or written by the
        scheduler or by another pod of the same job) keeps its record and gets the profile
        merged in: averages weighted by the pods profiled so far, peaks by maximum, achieved
        GPU shares summed over the pods.
        """
        problem = _problem(row)
        if problem is not None:
            raise ConfigError(f"job {row.get('job_id')!r}: {problem}")
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

    def usage(self, queues: Collection[str] | None = None, *,
              by_user: bool = False) -> list[tuple[Any, ...]]:
        """(day, queue, GPU-seconds, attempts) of the attempts that ended each day, or with
        *by_user* (queue, user, GPU-seconds, attempts) over all days, for *queues* (None: all),
        from the rollup a trigger keeps (migration 0005)."""
        table = usage_users if by_user else usage_daily
        keys = [table.c.queue, table.c.user] if by_user else [table.c.day, table.c.queue]
        query = select(*keys, table.c.gpu_seconds, table.c.attempts).order_by(*keys)
        if queues is not None:
            query = query.where(table.c.queue.in_(list(queues)))
        with self._connection() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def page(self, *, queues: Collection[str] | None = None, user: str | None = None,
             outcome: str | None = None, offset: int = 0,
             limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
        """How many attempts match, and *limit* of them from *offset*, latest end first; the
        filters are equalities each served by an index on (column, end)."""
        where = []
        if queues is not None:
            where.append(attempts.c.queue.in_(list(queues)))
        if user is not None:
            where.append(attempts.c.user == user)
        if outcome is not None:
            where.append(attempts.c.outcome == outcome)
        order = (attempts.c.end.desc(), attempts.c.source, attempts.c.job_id,
                 attempts.c.attempt)
        with self._connection() as conn:
            total = conn.execute(select(func.count()).select_from(attempts)
                                 .where(*where)).scalar_one()
            rows = conn.execute(select(attempts).where(*where).order_by(*order)
                                .offset(offset).limit(limit))
            return total, [dict(row._mapping) for row in rows]

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
            problem = _out_of_bounds(trials, row)
            if problem is not None:
                raise ConfigError(f"trial result for {row['job_key'][:80]!r}: {problem}")
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


def _lock_wait_args(url: URL, wait_s: float) -> dict[str, Any]:
    """Driver arguments that bound the wait for other processes' locks (and, on PostgreSQL,
    for the connection); what the URL sets itself is kept."""
    if url.get_backend_name() == "sqlite":
        return {} if "timeout" in url.query else {"timeout": wait_s}
    if url.get_backend_name() != "postgresql":
        return {}
    given = url.query.get("options", "")
    options = f"-c lock_timeout={max(1, round(wait_s * 1000))} {given}".strip()
    args: dict[str, Any] = {"options": options}
    if "connect_timeout" not in url.query:
        args["connect_timeout"] = CONNECT_TIMEOUT_S
    return args


def _upgrade(engine: Engine, url: URL, wait_s: float) -> None:
    """Bring the schema to the package's head revision.

    A database already there (every open but the first) takes no lock. Otherwise the upgrade
    runs under a lock that only one process holds, and Alembic reads the version again inside
    it, so processes that waited find the work done (or finish what a killed one left).
    """
    # Imported here: a process that never opens a store (the node agent without a history
    # database) does not pay for importing alembic.
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(files("corral.history") / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with _sqlite_file_lock(url, wait_s), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Held to the end of this transaction; waits at most lock_timeout.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@contextlib.contextmanager
def _sqlite_file_lock(url: URL, wait_s: float) -> Iterator[None]:
    """An exclusive lock on ``<database file>.lock`` for an SQLite file (nothing otherwise),
    waited for at most *wait_s* seconds.

    SQLite runs DDL outside the transaction Alembic opens, so its own locks cannot keep two
    migrations apart; a lock file beside the database can, for every process on the machine.
    """
    path = _sqlite_file(url)
    if path is None:
        yield
        return
    with open(f"{path}.lock", "a+b") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"the migration lock {path}.lock is still held after {wait_s:g} s "
                        "(another process is migrating the database)") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sqlite_file(url: URL) -> str | None:
    """The file an SQLite URL names (``file:`` URIs too); None for an in-memory database."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if url.query.get("uri") in ("true", "1") and database.startswith("file:"):
        database = database.removeprefix("file:").partition("?")[0]
        if url.query.get("mode") == "memory":
            return None
    if database in ("", ":memory:"):
        return None
    return database


def _is_lock_wait(exc: BaseException) -> bool:
    """Whether *exc* is a statement that gave up waiting for another process's lock."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "55P03":  # PostgreSQL lock_not_available
        return True
    return "database is locked" in str(orig if orig is not None else exc)


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


def _problem(row: Mapping[str, Any]) -> str | None:
    """Why the store cannot keep *row*, or None. Lengths are checked here, not left to the
    database, so SQLite (which ignores declared lengths) and PostgreSQL (which refuses the
    whole statement) keep and reject the same rows, each with its reason."""
    if row["outcome"] not in OUTCOMES:
        return f"outcome {row['outcome']!r} is not one of {', '.join(OUTCOMES)}"
    if not row["submit"] <= row["start"] <= row["end"]:
        return "expected submit <= start <= end"
    return _out_of_bounds(attempts, row)


def _out_of_bounds(table: Table, row: Mapping[str, Any]) -> str | None:
    """The first value of *row* longer or larger than its column of *table* holds, said."""
    for column in table.columns:
        value = row.get(column.name)
        if isinstance(value, str) and isinstance(column.type, String) \
                and column.type.length is not None and len(value) > column.type.length:
            return (f"{column.name} is {len(value)} characters, longer than the "
                    f"{column.type.length} the store keeps")
        if isinstance(value, int) and isinstance(column.type, Integer) \
                and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            return f"{column.name} {value} is outside the 32-bit integers the store keeps"
    return None


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
