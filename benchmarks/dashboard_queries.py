"""How fast the dashboard answers over a large history: the usage page over a million attempts
and job pages over a hundred thousand.

Usage: python benchmarks/dashboard_queries.py [--rows N] [--jobs-rows M] [--db URL] [--repeat K]

Fills a history database (a fresh SQLite file unless --db names one) with N attempts spread
over a year, 40 projects and 800 users, through the store's own import (so the daily usage
rollup is kept by its trigger as in production), then times the API through FastAPI's test
client as an admin and as a member of one project: ``/api/usage``, and ``/api/jobs`` pages at
the start, middle and end of M attempts (the first M rows' projects), filtered and not.
Prints, per request, the median CPU time (process time) and wall time over K repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from corral.dashboard.access import TokenFile, token_digest
from corral.dashboard.app import create_app
from corral.dashboard.audit_log import AuditLog
from corral.dashboard.projects import ProjectFile
from corral.dashboard.sources import Sources
from corral.history.store import HistoryStore

PROJECTS = 40
USERS = 800
YEAR_S = 365 * 86400
BATCH = 20_000


def rows(count: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    ends = np.sort(rng.uniform(0, YEAR_S, count))
    runs = rng.exponential(3600 * 4, count)
    users = rng.integers(0, USERS, count)
    gpus = rng.choice([1, 2, 4, 8], count, p=[0.6, 0.2, 0.1, 0.1])
    outcomes = rng.choice(["completed", "failed", "killed"], count, p=[0.85, 0.1, 0.05])
    return [{"source": "bench", "job_id": f"job-{i}", "attempt": 0, "user": f"user-{u}",
             "name": f"train-{i}", "queue": f"project-{u % PROJECTS}", "tasks": 1,
             "gpu_milli": int(g) * 1000, "gpu_type": "A100", "submit": e - r - 60.0,
             "start": e - r, "end": e, "outcome": o}
            for i, (e, r, u, g, o) in enumerate(zip(ends.tolist(), runs.tolist(),
                                                     users.tolist(), gpus.tolist(),
                                                     outcomes.tolist(), strict=True))]


def timed(client: TestClient, path: str, token: str, repeat: int) -> tuple[float, float]:
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        assert answer.status_code == 200, answer.text
    return statistics.median(cpu), statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jobs-rows", type=int, default=100_000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="corral-dashboard-bench-"))
    store = HistoryStore(args.db or f"sqlite:///{folder / 'history.db'}")
    began = time.perf_counter()
    if store.count() < args.rows:
        data = rows(args.rows)
        for start in range(0, len(data), BATCH):
            store.add_attempts(data[start:start + BATCH], batch_rows=BATCH)
    print(f"history: {store.count():,} attempts ({time.perf_counter() - began:.0f} s to fill)")
    queues = "\n".join(f'[[queues]]\nname = "project-{p}"\nquota = {{ gpu = 16 }}\n'
                       f'members = ["member"]\n' if p == 0 else
                       f'[[queues]]\nname = "project-{p}"\nquota = {{ gpu = 16 }}\n'
                       for p in range(PROJECTS))
    (folder / "queues.toml").write_text(queues, encoding="utf-8")
    (folder / "tokens.toml").write_text(
        f'[[users]]\nname = "admin"\ntoken_sha256 = "{token_digest("a")}"\nadmin = true\n'
        f'[[users]]\nname = "member"\ntoken_sha256 = "{token_digest("m")}"\n', encoding="utf-8")
    client = TestClient(create_app(Sources(
        mode="offline", access=TokenFile(folder / "tokens.toml"),
        projects=ProjectFile(folder / "queues.toml"), audit=AuditLog(folder / "audit.log"),
        history=store)))
    requests = [
        ("usage, admin (all projects)", "/api/usage", "a"),
        ("usage, member (one project)", "/api/usage", "m"),
        ("jobs page 1, admin", "/api/jobs?limit=50", "a"),
        ("jobs page at 100k, admin", f"/api/jobs?limit=50&offset={args.jobs_rows - 50}", "a"),
        ("jobs page 1, admin, state=failed", "/api/jobs?limit=50&state=failed", "a"),
        ("jobs page 1, member", "/api/jobs?limit=50", "m"),
        ("jobs last page, member",
         f"/api/jobs?limit=50&offset={args.rows // PROJECTS - 50}", "m"),
        ("jobs page 1, admin, user=user-7", "/api/jobs?limit=50&user=user-7", "a"),
    ]
    print(f"{'request':<40} {'CPU ms':>8} {'wall ms':>8}")
    for label, path, token in requests:
        cpu, wall = timed(client, path, token, args.repeat)
        print(f"{label:<40} {cpu * 1000:8.1f} {wall * 1000:8.1f}")


if __name__ == "__main__":
    main()
