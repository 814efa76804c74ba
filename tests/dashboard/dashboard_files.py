"""A small dashboard with real data: three projects in a queue file, three users in a token
file, finished jobs in an SQLite history, a replayed cluster running and queueing jobs, a
simulation run folder and a cache statistics document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from corral.dashboard.access import TokenFile, token_digest
from corral.dashboard.audit_log import AuditLog
from corral.dashboard.projects import ProjectFile
from corral.dashboard.replay import ReplayedCluster
from corral.dashboard.run_folders import RunFolders
from corral.dashboard.sources import Sources
from corral.history.store import HistoryStore
from corral.model import Node

TOKENS = {"admin": "admin-token", "alice": "alice-token", "bob": "bob-token"}
QUEUES = """\
# projects of the lab
[[queues]]
name = "vision"
quota = { gpu = 8, cpu = 64 }
members = ["alice"]

[[queues]]
name = "speech"
quota = { gpu = 4 }
borrowing_limit = { gpu = 2 }
members = ["bob"]
"""
DAY = 86400.0


def _attempt(i: int, queue: str, user: str, day: int, hours: float) -> dict[str, object]:
    end = day * DAY + 3600 * (1 + i % 20)
    return {"source": "test", "job_id": f"{queue}-{day}-{i}", "attempt": 0, "user": user,
            "name": f"train-{queue}-{i}", "queue": queue, "tasks": 1, "gpu_milli": 2000,
            "gpu_type": "A100", "submit": end - hours * 3600 - 60,
            "start": end - hours * 3600, "end": end, "outcome": "completed",
            "gpu_util": 0.5 if i % 4 == 0 else None}


@dataclass
class Dashboard:
    client: TestClient
    folder: Path
    sources: Sources

    def get(self, user: str, path: str) -> object:
        answer = self.client.get(path, headers=self.auth(user))
        assert answer.status_code == 200, answer.text
        return answer.json()

    @staticmethod
    def auth(user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[user]}"}


def make_sources(folder: Path) -> Sources:
    """Write the small dashboard's files under *folder*; what serves them."""
    (folder / "queues.toml").write_text(QUEUES, encoding="utf-8")
    lines = [f'[[users]]\nname = "{name}"\ntoken_sha256 = "{token_digest(token)}"\n'
             f'admin = {"true" if name == "admin" else "false"}\n'
             for name, token in TOKENS.items()]
    (folder / "tokens.toml").write_text("\n".join(lines), encoding="utf-8")
    history = HistoryStore(f"sqlite:///{folder / 'history.db'}")
    history.add_attempts([_attempt(i, queue, user, day, 2.0)
                          for i, (queue, user) in enumerate([("vision", "alice"),
                                                             ("speech", "bob")] * 6)
                          for day in (0, 1)])
    running = pd.DataFrame([
        {"job_id": "vision-live", "user": "alice", "queue": "vision", "tasks": 2,
         "gpus_per_task": 1.0, "gpu_type": "A100", "submit": 0.0, "start": 10.0,
         "end": 1e9, "nodes": "node-a;node-a"},
        {"job_id": "speech-wait", "user": "bob", "queue": "speech", "tasks": 1,
         "gpus_per_task": 0.5, "gpu_type": "A100", "submit": 5.0, "start": 9e8, "end": 1e9,
         "nodes": "node-b"}])
    cluster = ReplayedCluster(running, [Node("node-a", 4, "A100"), Node("node-b", 4, "A100")],
                              {"vision": 8, "speech": 4}, start=20.0, speed=0.0)
    run = folder / "runs" / "compare" / "fifo"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"policy": "fifo", "jobs": 10,
                                                  "avg_jct": 120.5}), encoding="utf-8")
    (run.parent / "report.html").write_text("<h1>report</h1>", encoding="utf-8")
    cache = folder / "cache.json"
    cache.write_text(json.dumps({"datasets": {"imagenet": {"cached_bytes": 10, "bytes": 40,
                                                           "cached_share": 0.25}},
                                 "epochs": [{"dataset": "imagenet", "epoch": 1, "hits": 1,
                                             "misses": 3, "hit_bytes": 1, "miss_bytes": 3}]}),
                     encoding="utf-8")
    return Sources(mode="offline", access=TokenFile(folder / "tokens.toml"),
                   projects=ProjectFile(folder / "queues.toml"),
                   audit=AuditLog(folder / "audit.log"), history=history, cluster=cluster,
                   runs=RunFolders(folder / "runs"), caches=[cache])




