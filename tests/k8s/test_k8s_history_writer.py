"""The live job-history writer: no row poisons it, its buffer is bounded, and rows wait out a
database that cannot take them."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from k8s_builders import emulated, live

from corral.core import Scheduler
from corral.history import HistoryError, HistoryStore
from corral.k8s.cluster_cache import ClusterCache
from corral.k8s.history_writer import HistoryWriter
from corral.k8s.metrics import SchedulerMetrics
from corral.policies import load_policy


def _row(i: int, **changes: Any) -> dict[str, Any]:
    return {"source": "kubernetes", "job_id": f"team/job-{i}", "attempt": 1, "user": "team",
            "name": f"job-{i}", "queue": "default", "tasks": 1, "gpu_milli": 1000,
            "gpu_type": "H100", "submit": float(i), "start": float(i), "end": i + 60.0,
            "outcome": "completed", "gpu_util": None, "gpu_mem_peak_mib": None, **changes}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def store(db: Path) -> Iterator[HistoryStore]:
    with HistoryStore(f"sqlite:///{db}", lock_wait_s=0.2) as opened:
        yield opened


def _writer(store: HistoryStore, metrics: SchedulerMetrics, **kwargs: Any) -> HistoryWriter:
    return HistoryWriter(store, ClusterCache(Scheduler(load_policy("fifo"))), clock=time.time,
                         drops=metrics.history_rows_dropped, **kwargs)


def _dropped(metrics: SchedulerMetrics, cause: str) -> float:
    return metrics.registry.get_sample_value("corral_history_rows_dropped_total",
                                             {"cause": cause}) or 0.0


def _stored(store: HistoryStore) -> list[str]:
    return sorted(row["job_id"] for row in store.attempts())


def test_rows_the_database_or_the_store_refuse_are_dropped_alone(
        store: HistoryStore, caplog: pytest.LogCaptureFixture) -> None:
    """One row the database refuses (NOT NULL) and one the store rejects (a queue longer
    than its column) sit among good ones: the good rows are written, the two are dropped,
    counted and logged, and later rows are written as usual."""
    metrics = SchedulerMetrics()
    writer = _writer(store, metrics)
    for row in (_row(0), _row(1, user=None), _row(2), _row(3, queue="q" * 2000), _row(4)):
        writer.add(row)
    with caplog.at_level(logging.WARNING):
        assert writer.flush() == 3
    assert _stored(store) == ["team/job-0", "team/job-2", "team/job-4"]
    assert len(writer.buffer) == 0 and _dropped(metrics, "rejected") == 2
    assert "team/job-1" in caplog.text and "NOT NULL" in caplog.text
    assert "team/job-3" in caplog.text and "queue is 2000 characters" in caplog.text
    writer.add(_row(5))
    assert writer.flush() == 1 and "team/job-5" in _stored(store)


@pytest.fixture
def locked(db: Path, store: HistoryStore) -> Iterator[sqlite3.Connection]:
    """Another process's exclusive lock on the database: it can neither be read nor written
    until the lock is released (the test's way to make it unreachable)."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield holder
    if holder.in_transaction:
        holder.rollback()
    holder.close()


def test_rows_wait_out_an_unreachable_database_and_are_written_when_it_answers(
        store: HistoryStore, locked: sqlite3.Connection) -> None:
    metrics = SchedulerMetrics()
    writer = _writer(store, metrics)
    for i in range(7):
        writer.add(_row(i))
    asyncio.run(writer._flush_logged())  # fails: logged, nothing dropped
    asyncio.run(writer._flush_logged())
    assert len(writer.buffer) == 7 and writer.dropped == {"buffer_full": 0, "rejected": 0}
    locked.rollback()
    assert writer.flush() == 7
    assert _stored(store) == [f"team/job-{i}" for i in range(7)] and len(writer.buffer) == 0


def test_a_full_buffer_drops_its_oldest_rows_counted_and_logged_once_per_burst(
        store: HistoryStore, locked: sqlite3.Connection,
        caplog: pytest.LogCaptureFixture) -> None:
    metrics = SchedulerMetrics()
    writer = _writer(store, metrics, max_rows=5)
    with caplog.at_level(logging.WARNING):
        for i in range(9):
            writer.add(_row(i))
        asyncio.run(writer._flush_logged())  # the failed chunk goes back, still bounded
        writer.add(_row(9))
        assert [row["job_id"] for row in writer.buffer] == [f"team/job-{i}" for i in range(5, 10)]
        assert _dropped(metrics, "buffer_full") == 5 == writer.dropped["buffer_full"]
        assert caplog.text.count("buffer full") == 1
        locked.rollback()
        assert writer.flush() == 5
        assert "5 rows were dropped" in caplog.text
        locked.execute("BEGIN EXCLUSIVE")  # a second burst is logged again
        for i in range(10, 17):
            writer.add(_row(i))
        assert caplog.text.count("buffer full") == 2
    assert _dropped(metrics, "buffer_full") == 7
    locked.rollback()
    assert writer.flush() == 5
    assert _stored(store) == sorted(f"team/job-{i}" for i in (*range(5, 10), *range(12, 17)))


def test_the_live_scheduler_exports_the_rows_its_writer_drops(store: HistoryStore) -> None:
    async def scenario() -> bytes:
        async with emulated() as emu, live(emu, history=store) as scheduler:
            assert scheduler.history is not None
            scheduler.history.add(_row(0, outcome="exploded"))
            scheduler.history.flush()
            return scheduler.metrics.exposition()

    exposition = asyncio.run(scenario())
    assert b'corral_history_rows_dropped_total{cause="rejected"} 1.0' in exposition


def test_a_store_given_as_an_opener_is_opened_when_rows_are_due_and_retried_if_it_fails(
        db: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``corral scheduler`` hands the writer a function that opens the database, so opening
    it never delays the first binding: nothing is opened before a flush; an opening that
    fails keeps the rows for the next try, logged as an error; then they are written."""
    opened: list[HistoryStore] = []
    fail = {"now": True}

    def opener() -> HistoryStore:
        if fail["now"]:
            raise HistoryError("history database sqlite:///x unreachable")
        opened.append(HistoryStore(f"sqlite:///{db}"))
        return opened[-1]

    writer = _writer(opener, SchedulerMetrics())  # type: ignore[arg-type]
    assert not writer.opened and opened == []
    writer.add(_row(0))

    async def flush() -> None:
        await writer._flush_logged()

    with caplog.at_level(logging.ERROR):
        asyncio.run(flush())
    assert not writer.opened and len(writer.buffer) == 1
    assert "opening the job-history database failed" in caplog.text
    fail["now"] = False
    asyncio.run(flush())
    assert writer.opened and len(writer.buffer) == 0
    assert _stored(opened[0]) == ["team/job-0"]
    writer.close()
