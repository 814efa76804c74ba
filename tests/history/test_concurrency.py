"""Several processes on one history database: the first migration is serialised, and a lock
another process holds is waited for a bounded time, then reported in one line."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from corral.cli import history as history_cli
from corral.cli.main import app
from corral.history import HistoryStore
from corral.history import store as history_store
from corral.model import ConfigError

IMPORTERS = 16
ROWS_EACH = 40
SRC = Path(__file__).resolve().parents[2] / "src"
HELIOS = "u_id,user,gpu_num,cpu_num,node_num,interval,run_time,wall_time,new_status\n"


def _rows(first: int) -> list[dict[str, Any]]:
    return [{"source": "t", "job_id": str(i), "attempt": 1, "user": "u", "name": f"job{i}",
             "queue": "q", "tasks": 1, "gpu_milli": 1000, "gpu_type": "", "submit": 0.0,
             "start": 0.0, "end": 60.0, "outcome": "completed", "gpu_util": None,
             "gpu_mem_peak_mib": None} for i in range(first, first + ROWS_EACH)]


def _import(url: str, first: int, start: Any, results: Any) -> None:
    """One importer: modules loaded, then it waits for the others and opens the store."""
    import alembic.command  # noqa: F401  (loaded before the start line, as the store would)

    start.wait()
    try:
        with HistoryStore(url) as store:
            store.add_attempts(_rows(first))
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_importing_into_one_new_database_at_once_all_succeed(db_url: str) -> None:
    """Each opens the empty database (so each finds it unmigrated) at the same moment and
    imports rows overlapping its neighbours': every import succeeds and every row is stored
    once."""
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(IMPORTERS), ctx.Queue()
    workers = [ctx.Process(target=_import, args=(db_url, i * ROWS_EACH // 2, start, results))
               for i in range(IMPORTERS)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(60)
    assert [o for o in outcomes if o != "ok"] == []
    assert [w.exitcode for w in workers] == [0] * IMPORTERS
    expected = (IMPORTERS + 1) * ROWS_EACH // 2
    with HistoryStore(db_url) as store:
        ids = sorted(int(row["job_id"]) for row in store.attempts())
    assert ids == list(range(expected))


def test_a_migration_lock_held_too_long_is_one_clear_error(tmp_path: Path) -> None:
    """A process migrating a new SQLite file holds ``<file>.lock``; another waits for it a
    bounded time, then says what it waited for."""
    db = tmp_path / "h.db"
    with open(f"{db}.lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ConfigError, match=r"migration lock .*h\.db\.lock is still held"):
            HistoryStore(f"sqlite:///{db}", lock_wait_s=0.2)
    with HistoryStore(f"sqlite:///{db}") as store:  # released: the migration runs
        assert store.count() == 0


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: history database "), stderr
    return lines[0]


def test_an_import_meeting_a_held_sqlite_write_lock_fails_in_one_line(tmp_path: Path) -> None:
    trace = tmp_path / "tiny.csv"
    trace.write_text(HELIOS + "1,ann,8,8,1,0,3600,0,COMPLETED\n")
    db = tmp_path / "h.db"
    HistoryStore(f"sqlite:///{db}").close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer, mid-transaction
    holder.execute("DELETE FROM job_attempts")
    try:
        result = CliRunner().invoke(app, ["history", "import", str(trace), "--db",
                                          f"sqlite:///{db}", "--lock-wait", "0.3"])
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 2
    line = _one_error_line(result.stderr)
    assert "database is locked" in line and "waited 0.3 s for a lock" in line


def test_a_postgresql_import_waiting_on_another_writer_gives_up_in_one_line(
        postgres_server: str, tmp_path: Path) -> None:
    """Another session inserted the same key and has not committed: the import's insert would
    wait for it forever; it waits --lock-wait, then fails with one line, no password."""
    trace = tmp_path / "tiny.csv"
    trace.write_text(HELIOS + "1,ann,8,8,1,0,3600,0,COMPLETED\n")
    admin = postgres_server.replace("+psycopg", "")
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE held_lock")
    url = postgres_server.replace("://corral@", "://corral:s3cret-pw@") + "/held_lock"
    with HistoryStore(url) as store:
        row = {**_rows(0)[0], "source": "tiny", "job_id": "1"}
        store.add_attempts([row])
    with psycopg.connect(f"{admin}/held_lock") as holder:
        holder.execute("DELETE FROM job_attempts")  # the key, locked until the holder ends
        done = subprocess.run(
            [sys.executable, "-m", "corral", "history", "import", str(trace), "--db", url,
             "--lock-wait", "0.5"], capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "300"}, check=False)
        holder.rollback()
    assert done.returncode == 2, done.stderr
    line = _one_error_line(done.stderr)
    assert "lock timeout" in line and "waited 0.5 s for a lock" in line
    assert "corral:***@" in line and "s3cret" not in done.stderr + done.stdout


def test_a_read_only_database_fails_in_one_line(tmp_path: Path) -> None:
    trace = tmp_path / "tiny.csv"
    trace.write_text(HELIOS + "1,ann,8,8,1,0,3600,0,COMPLETED\n")
    db = tmp_path / "h.db"
    HistoryStore(f"sqlite:///{db}").close()
    db.chmod(0o444)
    # SQLite's read-only open: the file stays read-only for root too.
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    result = CliRunner().invoke(app, ["history", "import", str(trace), "--db", url])
    assert result.exit_code == 2
    assert "readonly database" in _one_error_line(result.stderr)
    stats = CliRunner().invoke(app, ["history", "stats", "--json", "--db", url])
    assert stats.exit_code == 0 and stats.stdout.strip() == "[]"  # reading still works


def test_the_cli_default_lock_wait_is_the_store_s() -> None:
    assert history_cli.LOCK_WAIT_S == history_store.LOCK_WAIT_S
