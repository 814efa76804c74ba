"""The shared byte ledger: an :class:`~corral.datacache.index.Index` in an SQLite file.

Every data-loader worker, the FUSE mount and ``corral cache stats`` open the same
``ledger.sqlite`` in the cache directory. Changes run in ``BEGIN IMMEDIATE`` transactions
(one writer at a time, across processes, by SQLite's file lock), so two processes never both
count the same bytes, and the byte bound, checked inside the transaction, always holds.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from corral.datacache.stats import EpochStats
from corral.model import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, dataset TEXT, version TEXT,
    size INTEGER, added INTEGER, used INTEGER);
CREATE INDEX IF NOT EXISTS entries_added ON entries (added);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
CREATE TABLE IF NOT EXISTS reads (key TEXT PRIMARY KEY, count INTEGER);
CREATE TABLE IF NOT EXISTS stats (dataset TEXT, epoch INTEGER, hits INTEGER, misses INTEGER,
    hit_bytes INTEGER, miss_bytes INTEGER, PRIMARY KEY (dataset, epoch));
"""


class Ledger:
    """Entries, byte use and statistics of one cache directory, shared by processes."""

    def __init__(self, path: str | Path, capacity: int | None = None, policy: str | None = None,
                 on_evict: Callable[[str], None] | None = None) -> None:
        """Open (creating) the ledger at *path*. A new ledger takes *capacity* and *policy*;
        an existing one must have been made with the same, or a ConfigError says so. Opening
        with neither (``corral cache stats``) just reads what is there."""
        self.path = Path(path)
        self._on_evict = on_evict
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            meta = dict(self._db.execute("SELECT name, value FROM meta"))
            if not meta:
                if capacity is None or policy is None:
                    raise ConfigError(f"{self.path.parent} is not a cache directory "
                                      "(no cache was ever mounted or opened there)")
                self._db.executemany("INSERT INTO meta VALUES (?, ?)",
                                     [("capacity", capacity), ("policy", policy), ("used", 0)])
                meta = {"capacity": capacity, "policy": policy}
            elif (capacity, policy) not in ((None, None), (meta["capacity"], meta["policy"])):
                raise ConfigError(
                    f"{self.path.parent} holds a cache of {meta['capacity']} bytes under policy "
                    f"{meta['policy']!r}; open it with the same size and policy, or use "
                    "another directory")
        self.capacity: int = int(meta["capacity"])
        self.policy: str = str(meta["policy"])

    @contextmanager
    def transaction(self) -> Iterator[Ledger]:
        """Hold the ledger's write lock (across processes and threads) until the block ends;
        commit if it ends normally, roll back if it raises or the commit fails (a full disk:
        SQLite may leave the transaction open then, and the next one could not begin)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    # -- the Index interface (call inside transaction(), except the reads) -----------------
    def used(self) -> int:
        return int(self._scalar("SELECT value FROM meta WHERE name = 'used'"))

    def version_of(self, key: str) -> str | None:
        with self._lock:
            return self._scalar("SELECT version FROM entries WHERE key = ?", key)

    def add(self, key: str, dataset: str, version: str, size: int) -> None:
        used = self.used()
        if used + size > self.capacity:
            raise AssertionError(f"cache bound broken: {used} + {size} > {self.capacity}")
        now = time.time_ns()
        self._db.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                         (key, dataset, version, size, now, now))
        self._db.execute("UPDATE meta SET value = value + ? WHERE name = 'used'", (size,))

    def evict(self, key: str) -> None:
        size = self._scalar("DELETE FROM entries WHERE key = ? RETURNING size", key)
        if size is None:
            return
        self._db.execute("UPDATE meta SET value = value - ? WHERE name = 'used'", (size,))
        if self._on_evict is not None:
            self._on_evict(key)

    def touch(self, key: str) -> None:
        self._db.execute("UPDATE entries SET used = ? WHERE key = ?", (time.time_ns(), key))

    def oldest(self) -> str | None:
        return self._scalar("SELECT key FROM entries ORDER BY added LIMIT 1")

    def least_recent(self) -> str | None:
        return self._scalar("SELECT key FROM entries ORDER BY used LIMIT 1")

    def random_entry(self, rng: random.Random) -> str | None:
        top = self._scalar("SELECT max(rowid) FROM entries")
        if top is None:
            return None
        return self._scalar("SELECT key FROM entries WHERE rowid >= ? ORDER BY rowid LIMIT 1",
                            rng.randint(1, top))

    def count(self, dataset: str, key: str, hit: bool, size: int) -> None:
        epoch = self._scalar("INSERT INTO reads VALUES (?, 1) ON CONFLICT (key) DO UPDATE "
                             "SET count = count + 1 RETURNING count", key)
        self._db.execute(
            "INSERT INTO stats VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dataset, epoch) DO UPDATE "
            "SET hits = hits + excluded.hits, misses = misses + excluded.misses, "
            "hit_bytes = hit_bytes + excluded.hit_bytes, "
            "miss_bytes = miss_bytes + excluded.miss_bytes",
            (dataset, epoch, int(hit), int(not hit), size if hit else 0, 0 if hit else size))

    def stats(self) -> list[EpochStats]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM stats ORDER BY dataset, epoch").fetchall()
        return [EpochStats(*row) for row in rows]

    def cached_bytes(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute(
                "SELECT dataset, sum(size) FROM entries GROUP BY dataset ORDER BY dataset"))

    def dataset_bytes(self) -> dict[str, int]:
        with self._lock:
            return {name.removeprefix("bytes:"): int(value) for name, value in self._db.execute(
                "SELECT name, value FROM meta WHERE name LIKE 'bytes:%' ORDER BY name")}

    def set_dataset_bytes(self, dataset: str, size: int) -> None:
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             ("bytes:" + dataset, size))

    # -- upkeep --------------------------------------------------------------------------
    def entry_keys(self) -> set[str]:
        """Every cached key (for recovery sweeps; call inside transaction())."""
        return {row[0] for row in self._db.execute("SELECT key FROM entries")}

    def clear(self) -> None:
        """Forget every entry (call inside transaction()); statistics stay."""
        self._db.execute("DELETE FROM entries")
        self._db.execute("UPDATE meta SET value = 0 WHERE name = 'used'")

    def _scalar(self, sql: str, *args: object) -> object:
        row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]
