"""The daily usage rollup (migration 0005) and the filtered, paged listing of attempts, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from corral.history.schema import attempts
from corral.history.store import HistoryStore, _with_driver

Rows = Callable[..., list[dict[str, object]]]


def _spread(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """The rows over three days and two queues, with run times of 1-3 hours and 1-2 GPUs."""
    for i, row in enumerate(rows):
        end = (i % 3) * 86400.0 + 7200.0 * (1 + i % 5)
        row.update(queue=f"q{i % 2}", end=end, start=end - 3600.0 * (1 + i % 3),
                   submit=end - 4 * 3600.0, tasks=1 + i % 2)
    return rows


def _expected(rows: list[dict[str, object]], by_user: bool) -> dict[tuple[object, ...], float]:
    totals: dict[tuple[object, ...], float] = {}
    for row in rows:
        key = (row["queue"], row["user"]) if by_user else (int(row["end"] // 86400), row["queue"])
        seconds = (row["end"] - row["start"]) * row["tasks"] * row["gpu_milli"] / 1000
        totals[key] = totals.get(key, 0.0) + seconds
    return totals


def test_every_insert_is_summed_once_per_day_queue_and_user(db_url: str, rows: Rows) -> None:
    data = _spread(rows(60))
    with HistoryStore(db_url) as store:
        store.add_attempts(data[:40], batch_rows=7)
        store.add_attempts(data, batch_rows=7)  # the first 40 again: stored and summed once
        for by_user in (False, True):
            got = {row[:-2]: row[-2] for row in store.usage(by_user=by_user)}
            assert got == _expected(data, by_user)
        assert sum(row[-1] for row in store.usage()) == 60
        assert {row[1] for row in store.usage(["q1"])} == {"q1"}
        assert {row[0] for row in store.usage(["q1"], by_user=True)} == {"q1"}


def test_an_older_history_is_summed_when_it_is_migrated(db_url: str, rows: Rows) -> None:
    data = _spread(rows(30))
    config = Config()
    config.set_main_option("script_location", str(files("corral.history") / "migrations"))
    engine = create_engine(_with_driver(db_url))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
        conn.execute(attempts.insert(), [{k: v for k, v in row.items()
                                          if k in attempts.c} for row in data])
    engine.dispose()
    with HistoryStore(db_url) as store:
        assert {row[:-2]: row[-2] for row in store.usage(by_user=True)} == \
            _expected(data, by_user=True)


def test_pages_are_filtered_and_latest_first(db_url: str, rows: Rows) -> None:
    data = _spread(rows(50))
    data[3]["outcome"] = "failed"
    with HistoryStore(db_url) as store:
        store.add_attempts(data)
        total, page = store.page(queues=["q1"], user="u0", limit=4)
        assert total == sum(1 for r in data if r["queue"] == "q1" and r["user"] == "u0")
        assert len(page) == 4 and {(r["queue"], r["user"]) for r in page} == {("q1", "u0")}
        assert [r["end"] for r in page] == sorted((r["end"] for r in page), reverse=True)
        _, rest = store.page(queues=["q1"], user="u0", offset=4, limit=100)
        assert len(rest) == total - 4 and not {r["job_id"] for r in rest} & \
            {r["job_id"] for r in page}
        total, [failed] = store.page(outcome="failed")
        assert total == 1 and failed["job_id"] == "3"
