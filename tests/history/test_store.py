"""The history store against SQLite and PostgreSQL: schema, idempotence, stats, transactions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from builders import job
from corral.history import HistoryError, HistoryStore, attempts_from_trace
from corral.model import ConfigError
from corral.traces.reader import Trace

SRC = Path(__file__).resolve().parents[2] / "src"


def test_opening_an_empty_database_creates_the_schema(db_url):
    HistoryStore(db_url).close()
    inspector = sa.inspect(sa.create_engine(db_url))
    assert {"job_attempts", "alembic_version"} <= set(inspector.get_table_names())
    columns = {column["name"] for column in inspector.get_columns("job_attempts")}
    assert {"job_id", "attempt", "user", "queue", "tasks", "gpu_milli", "gpu_type", "submit",
            "start", "end", "outcome", "gpu_util", "gpu_mem_peak_mib"} <= columns
    with HistoryStore(db_url) as store:  # reopening migrates nothing and keeps working
        assert store.count() == 0


def test_adding_the_same_attempts_twice_stores_them_once(db_url, rows):
    with HistoryStore(db_url) as store:
        assert store.add_attempts(rows(7), batch_rows=3) == 7
        assert store.add_attempts(rows(10), batch_rows=3) == 3
        assert store.add_attempts(rows(5, source="other")) == 5
        assert store.count() == 15


def test_stats_per_user_and_queue_on_a_hand_made_trace(db_url):
    trace = Trace(name="tiny", format="hand", source="tiny", skipped={}, cluster=None, jobs=[
        job("a", 0, tasks=2, gpus=4, duration=3600, user="ann", queue="research"),
        job("b", 10, gpus=1, duration=1800, user="ann", queue="prod", outcome="Failed"),
        job("c", 20, gpus=0.5, duration=7200, user="bob", queue="research"),
        job("d", 30, gpus=1, duration=600, user="ann", queue="research"),
    ])
    with HistoryStore(db_url) as store:
        store.add_attempts(attempts_from_trace(trace))
        by_user = {row.key: row for row in store.stats(by="user")}
        by_queue = {row.key: row for row in store.stats(by="queue")}
        recent = store.stats(by="user", since=1900)  # b (ends 1810) and d (630) left out
        outcomes = {row["job_id"]: row["outcome"] for row in store.attempts()}
    ann = by_user["ann"]
    assert (ann.jobs, ann.gpu_hours) == (3, pytest.approx(8 + 0.5 + 1 / 6))
    assert ann.median_duration == 1800
    assert ann.p90_duration == pytest.approx(1800 + 0.8 * 1800)
    assert (by_user["bob"].jobs, by_user["bob"].gpu_hours) == (1, 1.0)
    assert by_queue["research"].jobs == 3 and by_queue["prod"].gpu_hours == 0.5
    assert {row.key: row.jobs for row in recent} == {"ann": 1, "bob": 1}
    assert outcomes == {"a": "completed", "b": "failed", "c": "completed", "d": "completed"}


def test_a_failing_batch_leaves_whole_earlier_batches_only(db_url, rows):
    attempts = rows(250)
    attempts[150]["user"] = None  # breaks the second batch inside its transaction
    with HistoryStore(db_url) as store:
        with pytest.raises(HistoryError, match=r"NOT NULL|not-null"):
            store.add_attempts(attempts, batch_rows=100)
        assert [row["job_id"] for row in store.attempts()] == [str(i) for i in range(100)]
        attempts[150]["user"] = "u0"
        assert store.add_attempts(attempts, batch_rows=100) == 150
        assert store.count() == 250


KILLED_IMPORT = """
import os, signal, sys
import sqlalchemy as sa
from corral.history import HistoryStore

mode, at = sys.argv[2], int(sys.argv[3])
inserts = 0

@sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
def die_after_an_insert(conn, cursor, statement, *args):
    # "insert": killed once the at-th INSERT of rows has run, before its transaction commits
    global inserts
    if mode == "insert" and statement.lstrip().upper().startswith("INSERT INTO JOB_ATTEMPTS"):
        inserts += 1
        if inserts == at:
            os.kill(os.getpid(), signal.SIGKILL)

def rows():
    for i in range(1000):
        if mode == "row" and i == at:  # "row": killed while the at-th row is being read
            os.kill(os.getpid(), signal.SIGKILL)
        yield {"source": "t", "job_id": str(i), "attempt": 1, "user": "u", "name": "n",
               "queue": "q", "tasks": 1, "gpu_milli": 1000, "gpu_type": "", "submit": 0.0,
               "start": 0.0, "end": 60.0, "outcome": "completed", "gpu_util": 0.5,
               "gpu_mem_peak_mib": 1024.0}

HistoryStore(sys.argv[1]).add_attempts(rows(), batch_rows=100)
"""


@pytest.mark.parametrize(("mode", "at"), [("row", 250), ("insert", 3), ("insert", 4)],
                         ids=["mid-read", "third-insert", "fourth-insert"])
def test_an_import_killed_midway_leaves_whole_batches(db_url, rows, mode: str, at: int):
    """Killed while reading rows or inside a batch's transaction: what is stored is exactly
    the first whole batches (rows 0..100k-1), never part of one; importing again fills the
    rest. Two insert points, so a batch split across transactions is caught wherever the
    split falls."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", KILLED_IMPORT, db_url, mode, str(at)],
                          env=env, check=False)
    assert done.returncode == -9
    with HistoryStore(db_url) as store:
        stored = store.attempts()
        ids = sorted(int(row["job_id"]) for row in stored)
        assert ids == list(range(len(ids))), "not a prefix of the import"
        assert len(ids) % 100 == 0, f"{len(ids)} rows: a batch was stored in part"
        assert len(ids) == (200 if mode == "row" else (at - 1) * 100)
        assert all(row["gpu_mem_peak_mib"] == 1024.0 and row["user"] == "u" for row in stored)
        assert store.add_attempts(rows(1000)) == 1000 - len(ids)


def test_bad_rows_and_urls_are_config_errors(tmp_path, rows):
    bad = rows(1)
    bad[0]["outcome"] = "exploded"
    with HistoryStore(f"sqlite:///{tmp_path / 'h.db'}") as store, \
            pytest.raises(ConfigError, match="outcome 'exploded'"):
        store.add_attempts(bad)
    with pytest.raises(ConfigError, match="history database"):
        HistoryStore(f"sqlite:///{tmp_path / 'missing' / 'h.db'}")
    with pytest.raises(ConfigError, match="stats by 'team'"):
        HistoryStore(f"sqlite:///{tmp_path / 'h.db'}").stats(by="team")


def test_trial_results_are_stored_and_read_back_by_job(db_url):
    row = {"job_key": "team-a/bert", "gpu_type": "H200", "gpus": 1, "share": 0.5,
           "throughput": 120.5, "unit": "samples/s", "measured_at": 10.0, "source": "local"}
    with HistoryStore(db_url) as store:
        assert store.add_trials([row, {**row, "job_key": "b", "measured_at": 5.0}]) == 2
        assert [r["job_key"] for r in store.trials()] == ["b", "team-a/bert"]
        [mine] = store.trials("team-a/bert")
        assert {k: mine[k] for k in row} == row
        with pytest.raises(ConfigError, match="throughput must be > 0"):
            store.add_trials([{**row, "throughput": 0.0}])
        with pytest.raises(ConfigError, match="missing unit"):
            store.add_trials([{k: v for k, v in row.items() if k != "unit"}])


POD_KEY = f"{'n' * 63}/{'p' * 253}"
"""The longest namespace/pod key Kubernetes allows: 317 characters."""


def test_the_longest_pod_keys_are_stored_and_longer_values_rejected_row_by_row(db_url, rows):
    """PostgreSQL enforces column lengths and refused a whole batch for one long key; keys of
    317 characters are kept now, and a value longer than its column (or an integer larger) is
    left out with its reason while the rest of its batch is written, on both backends."""
    batch = rows(6)
    batch[1]["job_id"] = POD_KEY
    batch[1]["name"] = POD_KEY
    batch[2]["queue"] = "q" * 1025
    batch[3]["attempt"] = 2**40
    rejected: list[tuple[str, str]] = []
    with HistoryStore(db_url) as store:
        added = store.add_attempts(batch, on_reject=lambda row, why: rejected.append(
            (row["job_id"], why)))
        stored = {row["job_id"]: row for row in store.attempts()}
        with pytest.raises(ConfigError, match="queue is 1025 characters, longer than the 1024"):
            store.add_attempts([batch[2]])  # without on_reject: an error, nothing written
    assert added == 4 and sorted(stored) == sorted(["0", POD_KEY, "4", "5"])
    assert stored[POD_KEY]["name"] == POD_KEY
    assert rejected == [("2", "queue is 1025 characters, longer than the 1024 the store keeps"),
                        ("3", "attempt 1099511627776 is outside the 32-bit integers the "
                              "store keeps")]


def test_a_trial_run_of_the_longest_pod_name_is_stored(db_url):
    source = f"trialrun/{'n' * 63}/{'t' * 253}"
    row = {"job_key": POD_KEY, "gpu_type": "NVIDIA-H100-80GB-HBM3", "gpus": 1, "share": 1.0,
           "throughput": 3.5, "unit": "steps/s", "measured_at": 1.0, "source": source}
    with HistoryStore(db_url) as store:
        assert store.add_trials([row]) == 1
        assert store.trials(POD_KEY)[0]["source"] == source
        with pytest.raises(ConfigError, match="job_key is 1025 characters"):
            store.add_trials([{**row, "job_key": "k" * 1025}])


def test_a_database_of_the_previous_schema_is_migrated_with_its_rows(db_url, rows):
    """A store made before keys were widened (revision 0003) opens, keeps its rows, takes
    long keys, and Alembic can step it back down."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SRC / "corral" / "history" / "migrations"))
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
    with HistoryStore(db_url) as store:  # 0003 -> head
        assert store.add_attempts(rows(3)) == 3
        assert store.add_attempts([{**rows(1)[0], "job_id": POD_KEY}]) == 1
        assert store.count() == 4
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        conn.execute(sa.text("DELETE FROM job_attempts WHERE job_id = :k"), {"k": POD_KEY})
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    with HistoryStore(db_url) as store:
        assert store.count() == 3
    engine.dispose()
