"""Stores to test against: an SQLite file, and a throwaway PostgreSQL server on loopback.

The server is started from the distribution's ``initdb`` / ``pg_ctl`` when they are installed;
otherwise its tests skip, unless CORRAL_REQUIRE_POSTGRES=1 (as CI sets), which fails them.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

PG_USER = "postgres"
"""PostgreSQL refuses to run as root: as root the server runs as this system user."""

_databases = itertools.count()


def _pg_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", PG_USER, "--", *args]


def _no_server(reason: str) -> None:
    if os.environ.get("CORRAL_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (CORRAL_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"no PostgreSQL server to test against: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A server on a free loopback port for the session; yields its base URL (no database)."""
    initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
    if initdb is None or pg_ctl is None:
        _no_server("initdb / pg_ctl are not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="corral-pg-"))
    data, port = root / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, PG_USER)
    try:
        subprocess.run(_as_server_user([initdb, "-D", str(data), "-A", "trust", "-U", "corral"]),
                       check=True, capture_output=True)
        subprocess.run(_as_server_user(
            [pg_ctl, "-D", str(data), "-w", "-l", str(root / "log"), "-o",
             f"-h 127.0.0.1 -p {port} -k {root}", "start"]), check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        _no_server(f"the server did not start ({exc})")
    try:
        yield f"postgresql+psycopg://corral@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a fresh SQLite file, or a fresh database on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    base = request.getfixturevalue("postgres_server")
    name = f"history_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


@pytest.fixture
def rows() -> Callable[..., list[dict[str, object]]]:
    """Attempt rows for jobs 0..n-1 of one source, each a GPU-hour long on one GPU."""
    def make(n: int, source: str = "t") -> list[dict[str, object]]:
        return [{"source": source, "job_id": str(i), "attempt": 1, "user": f"u{i % 3}",
                 "name": f"job{i}", "queue": "q", "tasks": 1, "gpu_milli": 1000,
                 "gpu_type": "", "submit": float(i), "start": float(i), "end": i + 3600.0,
                 "outcome": "completed", "gpu_util": None, "gpu_mem_peak_mib": None}
                for i in range(n)]
    return make
