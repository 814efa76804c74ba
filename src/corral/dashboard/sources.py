"""Where each dashboard page's data comes from, offline or live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from corral.dashboard.access import Access, ClusterAccess, TokenFile
from corral.dashboard.agent_gpus import AgentGpus
from corral.dashboard.audit_log import AuditLog
from corral.dashboard.cluster_view import ClusterView
from corral.dashboard.live_cluster import LiveCluster
from corral.dashboard.projects import ProjectFile, ProjectObjects, ProjectStore
from corral.dashboard.run_folders import RunFolders
from corral.history.store import HistoryStore
from corral.k8s.client import KubeClient
from corral.k8s.secure_serving import DelegatedAuth
from corral.model import ConfigError


@dataclass
class Sources:
    """What the app reads and writes; a missing source gives an empty page."""

    mode: Literal["live", "offline", "demo"]
    access: Access
    projects: ProjectStore
    audit: AuditLog
    history: HistoryStore | None = None
    cluster: ClusterView | None = None
    runs: RunFolders | None = None
    caches: list[Path] = field(default_factory=list)


def offline_sources(tokens: Path, queues: Path | None, db: str | None, runs: Path | None,
                    caches: Sequence[Path], audit: Path) -> Sources:
    """A history database, a queue file and run folders, with users from *tokens*."""
    if queues is None:
        raise ConfigError("offline, --queues names the queue file that holds the projects")
    return Sources(mode="offline", access=TokenFile(tokens), projects=ProjectFile(queues),
                   audit=AuditLog(audit), history=HistoryStore(db) if db else None,
                   runs=RunFolders(runs) if runs else None, caches=list(caches))


def live_sources(client: KubeClient, scheduler_url: str | None, db: str | None,
                 runs: Path | None, caches: Sequence[Path], audit: Path,
                 agent_metrics: Sequence[str] = ()) -> Sources:
    """Queue resources, pods and nodes through *client*, whose API server checks users; GPU
    utilisation and health from the node agents' *agent_metrics* URLs."""
    return Sources(mode="live", access=ClusterAccess(DelegatedAuth(client)),
                   projects=ProjectObjects(client), audit=AuditLog(audit),
                   history=HistoryStore(db) if db else None,
                   cluster=LiveCluster(client, scheduler_url,
                                       agents=AgentGpus(agent_metrics) if agent_metrics
                                       else None),
                   runs=RunFolders(runs) if runs else None, caches=list(caches))
