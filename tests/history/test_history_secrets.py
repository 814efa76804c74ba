"""A history database's password never shows: not in errors, not in log lines, not in what the
commands print, whether the database is refused at start or goes away later."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from corral.cli.main import app
from corral.core import Scheduler
from corral.history import HistoryError, HistoryStore, masked_url
from corral.k8s.cluster_cache import ClusterCache
from corral.k8s.history_writer import HistoryWriter
from corral.model import ConfigError
from corral.policies import load_policy

PASSWORD = "s3cret-Horse:Battery@Staple/9"
"""With the characters a URL must quote, so every spelling of it is checked."""
QUOTED = "s3cret-Horse%3ABattery%40Staple%2F9"


def _nobody_listening() -> int:
    """A loopback port with no server behind it (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _refused_url() -> str:
    return f"postgresql+psycopg://corral:{QUOTED}@127.0.0.1:{_nobody_listening()}/history"


def _clean(text: str) -> bool:
    return PASSWORD not in text and QUOTED not in text and "s3cret" not in text


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://u:pw@db:5432/h", "postgresql+psycopg://u:***@db:5432/h"),
    (f"postgresql://corral:{QUOTED}@db/h", "postgresql://corral:***@db/h"),
    ("postgresql://u:pw@db:notaport/h", "postgresql://u:***@db:notaport/h"),
    ("postgresql+psycopg://u@db/h", "postgresql+psycopg://u@db/h"),
    ("sqlite:///var/lib/corral/history.db", "sqlite:///var/lib/corral/history.db"),
], ids=["plain", "quoted", "unparsable-port", "no-password", "sqlite"])
def test_masked_url_hides_the_password_only(url: str, shown: str) -> None:
    assert masked_url(url) == shown


def test_a_refused_connection_is_an_error_without_the_password(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = _refused_url()
    with pytest.raises(ConfigError) as raised:
        HistoryStore(url)
    message = str(raised.value)
    assert "corral:***@127.0.0.1" in message and "refused" in message.lower()
    assert _clean(message)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert _clean(caplog.text)


@pytest.mark.parametrize("command", [
    ["history", "stats", "--db"],
    ["history", "export", "--db"],
], ids=["history-stats", "history-export"])
def test_commands_given_a_refused_database_print_no_password(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, _refused_url()])
    assert result.exit_code == 2
    assert "corral:***@127.0.0.1" in result.output
    assert _clean(result.output)


def test_the_scheduler_logs_a_refused_database_without_the_password(
        caplog: pytest.LogCaptureFixture) -> None:
    """``corral scheduler`` opens its history database in the background: a refused one is an
    error in its log, the password hidden, and the rows wait for the next try."""
    caplog.set_level(logging.DEBUG)
    url = _refused_url()
    writer = HistoryWriter(lambda: HistoryStore(url),
                           ClusterCache(Scheduler(load_policy("fifo"))), clock=time.time)
    asyncio.run(writer._flush_logged())
    assert not writer.opened
    assert "opening the job-history database failed" in caplog.text
    assert "corral:***@127.0.0.1" in caplog.text and _clean(caplog.text)


def test_a_database_that_goes_away_is_logged_without_the_password(
        postgres_server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        rows: Callable[..., list[dict[str, object]]]) -> None:
    """The test server trusts every login, so the URL's password is accepted at start; then the
    database is dropped under the store, as an operator or a failover might."""
    caplog.set_level(logging.DEBUG)
    admin = postgres_server.replace("+psycopg", "") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE going_away")
    url = postgres_server.replace("://corral@", f"://corral:{QUOTED}@") + "/going_away"
    store = HistoryStore(url)
    try:
        assert store.add_attempts(rows(2)) == 2
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE going_away WITH (FORCE)")
        with pytest.raises(HistoryError) as raised:
            store.count()
        assert "corral:***@127.0.0.1" in str(raised.value) and _clean(str(raised.value))

        writer = HistoryWriter(store, ClusterCache(Scheduler(load_policy("fifo"))),
                               clock=time.time)
        writer.buffer.extend(rows(3))
        asyncio.run(writer._flush_logged())
        assert len(writer.buffer) == 3  # kept for the next flush
        assert "writing job history failed" in caplog.text and "***" in caplog.text
        assert _clean(caplog.text)
    finally:
        store.close()
