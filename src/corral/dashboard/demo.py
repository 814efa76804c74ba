"""``corral serve --demo``: everything the dashboard shows, made from the bundled trace.

In a fresh folder: the trace replayed on a cluster small enough that jobs queue (``auto:1``,
quotas from the trace's own mix, ``auto`` queues), that run replayed on the wall clock as the
"live" cluster with its finished jobs flowing into an SQLite history, the same trace under
two policies written as a ``compare`` folder with its report, a training-data cache's
statistics after three epochs of two datasets through the real cache index and LRU policy,
and a token file with an admin and two members, whose tokens are returned to print.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomlkit

from corral.api import simulate
from corral.clusters import build_cluster
from corral.dashboard.access import TokenFile, token_digest
from corral.dashboard.app import Sources
from corral.dashboard.audit_log import AuditLog
from corral.dashboard.projects import ProjectFile
from corral.dashboard.replay import ReplayedCluster
from corral.dashboard.run_folders import RunFolders
from corral.datacache.index import MemoryIndex
from corral.datacache.policies import make_policy
from corral.datacache.report import STATS_FILE, cache_report
from corral.history.store import HistoryStore
from corral.model import GPU, MILLI
from corral.queues import auto_queues
from corral.report.comparison import write_comparison
from corral.traces import read_trace

DEMO_CLUSTER = "auto:1"
POLICIES = ("fifo", "tiresias")
MEMBERS = ("alice", "bob")
REPLAY_FROM = 0.4
"""The replay starts when this share of the jobs has finished (so the history holds them)."""


@dataclass(frozen=True)
class Demo:
    sources: Sources
    tokens: dict[str, str]
    """User name -> token, to sign in with."""


def build_demo(folder: Path, *, limit: int | None = None) -> Demo:
    """Write the demo's files under *folder* and return what serves them."""
    folder.mkdir(parents=True, exist_ok=True)
    trace = read_trace(None, limit=limit)
    cluster = build_cluster(DEMO_CLUSTER, trace)
    tree = auto_queues(trace.jobs, cluster.gpus)
    queues_file = folder / "queues.toml"
    document = tomlkit.document()
    tables = tomlkit.aot()
    for i, queue in enumerate(tree.queues.values()):
        table = tomlkit.table()
        table["name"] = queue.name
        table["quota"] = {"gpu": queue.quota.get(GPU, 0) / MILLI}
        table["members"] = [MEMBERS[i % len(MEMBERS)]]
        tables.append(table)
    document["queues"] = tables
    queues_file.write_text(tomlkit.dumps(document), encoding="utf-8")

    results = [simulate(trace, policy=policy, cluster=cluster, queues=tree)
               for policy in POLICIES]
    write_comparison(results, folder / "runs" / "compare-demo")

    history = HistoryStore(f"sqlite:///{folder / 'history.db'}")
    jobs = results[0].jobs
    start = float(jobs["end"].quantile(REPLAY_FROM))
    quotas = {q.name: q.quota.get(GPU, 0) / MILLI for q in tree.queues.values()}
    cluster_view = ReplayedCluster(jobs, cluster.nodes, quotas, start=start,
                                   on_finished=history.add_attempts)
    cluster_view.record_finished()

    caches = folder / "cache"
    caches.mkdir(exist_ok=True)
    (caches / STATS_FILE).write_text(json.dumps(_cache_document()), encoding="utf-8")

    tokens = {name: secrets.token_urlsafe(16) for name in ("admin", *MEMBERS)}
    users = tomlkit.aot()
    for name, token in tokens.items():
        user = tomlkit.table()
        user.update({"name": name, "token_sha256": token_digest(token),
                     "admin": name == "admin"})
        users.append(user)
    token_file = folder / "tokens.toml"
    token_file.write_text(tomlkit.dumps({"users": users}), encoding="utf-8")
    sources = Sources(mode="demo", access=TokenFile(token_file),
                      projects=ProjectFile(queues_file), audit=AuditLog(folder / "audit.log"),
                      history=history, cluster=cluster_view, runs=RunFolders(folder / "runs"),
                      caches=[caches])
    return Demo(sources, tokens)


def _cache_document() -> dict[str, object]:
    """Statistics of a 40 GiB LRU cache after three epochs over two datasets (32 and 24 GiB
    of 256 MiB files), read in a fresh order each epoch."""
    size = 256 << 20
    index = MemoryIndex(40 << 30)
    policy = make_policy("lru", 0)
    rng = np.random.default_rng(0)
    files = [(dataset, f"{dataset}/{i}") for dataset, count in (("imagenet", 128),
                                                                 ("coco", 96))
             for i in range(count)]
    for dataset, count in (("imagenet", 128), ("coco", 96)):
        index.set_dataset_bytes(dataset, count * size)
    for _ in range(3):
        for position in rng.permutation(len(files)).tolist():
            dataset, key = files[position]
            hit = key in index
            index.count(dataset, key, hit, size)
            if hit:
                policy.on_hit(index, key)
            elif policy.make_room(index, size):
                index.add(key, dataset, "", size)
    return cache_report(index, "lru")
