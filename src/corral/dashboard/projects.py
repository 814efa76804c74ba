"""Where projects live: a queue file (offline) or Queue resources (live), read and written.

A project is a queue. Offline its members are user names kept in the queue file (``members``,
which the scheduler ignores); live they are the namespaces the Queue's ``namespaceSelector``
admits, so namespace RBAC decides who belongs. Writes keep every other field as it was (CPU and
memory quotas, comments in the file) and are checked by the same reader the scheduler uses
before they replace anything, so the dashboard cannot write a queue file or a Queue the
scheduler would refuse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import tomlkit

from corral.dashboard.api_models import Project, ProjectChange
from corral.k8s import conventions as names
from corral.k8s.client import ApiError, KubeClient, resource_path
from corral.k8s.queue_crd import queue_from_api
from corral.model import GPU, MILLI, ConfigError, InvalidSpec, Queue
from corral.queues import load_queue_file
from corral.queues.file_edit import read_document, write_checked

NAMESPACE_LABEL = "kubernetes.io/metadata.name"
"""The label every namespace carries with its own name (Kubernetes sets it)."""


class ProjectNotFound(LookupError):
    """No project by that name."""


class ProjectExists(ValueError):
    """A project by that name already exists."""


class ProjectStore(Protocol):
    """Projects and their quotas, wherever they are kept."""

    async def list(self) -> list[Project]: ...

    async def create(self, change: ProjectChange) -> Project:
        """Add a project; ProjectExists if the name is taken, ConfigError if the scheduler
        would refuse the result."""

    async def update(self, change: ProjectChange) -> tuple[Project, Project]:
        """Set a project's fields; (before, after). ProjectNotFound if there is none."""


def _gpus(amounts: Any) -> float | None:
    if amounts is None or GPU not in amounts:
        return None
    return amounts[GPU] / MILLI


def project_of(queue: Queue, members: list[str]) -> Project:
    """The project view of a model queue."""
    return Project(name=queue.name, parent=queue.parent, weight=queue.weight,
                   quota_gpus=_gpus(queue.quota), borrowing_gpus=_gpus(queue.borrowing_limit),
                   members=members)


class ProjectFile:
    """Projects in a TOML queue file (:mod:`corral.queues.toml_file`), edited in place."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    async def list(self) -> list[Project]:
        if not self.path.exists():
            return []
        tree = load_queue_file(self.path)
        members = {t["name"]: list(t.get("members", [])) for t in self._document()["queues"]}
        return [project_of(q, members.get(q.name, [])) for q in tree.queues.values()]

    async def create(self, change: ProjectChange) -> Project:
        document = self._document() if self.path.exists() else tomlkit.document()
        tables = document.setdefault("queues", tomlkit.aot())
        if any(t.get("name") == change.name for t in tables):
            raise ProjectExists(f"project {change.name} already exists")
        table = tomlkit.table()
        table["name"] = change.name
        tables.append(table)
        _write_fields(table, change)
        return self._save(document, change.name)

    async def update(self, change: ProjectChange) -> tuple[Project, Project]:
        before = {p.name: p for p in await self.list()}.get(change.name)
        if before is None:
            raise ProjectNotFound(f"no project {change.name}")
        document = self._document()
        table = next(t for t in document["queues"] if t.get("name") == change.name)
        _write_fields(table, change)
        return before, self._save(document, change.name)

    def _document(self) -> Any:
        return read_document(self.path)

    def _save(self, document: Any, name: str) -> Project:
        """Check the new file with the scheduler's reader, then replace the old one at once."""
        tree = write_checked(self.path, document)
        table = next(t for t in document["queues"] if t.get("name") == name)
        return project_of(tree.queues[name], list(table.get("members", [])))


def _write_fields(table: Any, change: ProjectChange) -> None:
    """Set *change*'s fields on a queue table, keeping its other resources."""
    for key, value in (("parent", change.parent), ("members", change.members or None)):
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    table["weight"] = change.weight
    for key, gpus in (("quota", change.quota_gpus), ("borrowing_limit", change.borrowing_gpus)):
        amounts = table.get(key)
        if gpus is None:
            if amounts is not None:
                amounts.pop("gpu", None)
                amounts.pop(GPU, None)
                if not amounts:
                    table.pop(key)
            continue
        if amounts is None:
            amounts = table[key] = tomlkit.inline_table()
        amounts.pop(GPU, None)
        amounts["gpu"] = gpus


class ProjectObjects:
    """Projects as Corral's cluster-scoped Queue resources, through the API server."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.collection = resource_path(*names.QUEUE_API)

    async def list(self) -> list[Project]:
        items = (await self.client.request("GET", self.collection))["items"]
        projects = []
        for obj in items:
            try:
                read = queue_from_api(obj)
            except InvalidSpec:
                continue  # the scheduler reports malformed Queues; they hold no quota
            projects.append(project_of(read.queue, _namespaces(obj)))
        return projects

    async def create(self, change: ProjectChange) -> Project:
        obj = {"apiVersion": "/".join(names.QUEUE_API[:2]), "kind": "Queue",
               "metadata": {"name": change.name}, "spec": {}}
        _write_spec(obj["spec"], change)
        _check(obj)
        try:
            created = await self.client.request("POST", self.collection, body=obj)
        except ApiError as exc:
            if exc.status == 409:
                raise ProjectExists(f"project {change.name} already exists") from None
            raise
        return project_of(queue_from_api(created).queue, _namespaces(created))

    async def update(self, change: ProjectChange) -> tuple[Project, Project]:
        path = resource_path(*names.QUEUE_API, name=change.name)
        try:
            obj = await self.client.request("GET", path)
        except ApiError as exc:
            if exc.not_found:
                raise ProjectNotFound(f"no project {change.name}") from None
            raise
        before = project_of(queue_from_api(obj).queue, _namespaces(obj))
        _write_spec(obj.setdefault("spec", {}), change)
        _check(obj)
        # A PUT carries the resourceVersion read: a concurrent change makes it fail (409).
        stored = await self.client.request("PUT", path, body=obj)
        return before, project_of(queue_from_api(stored).queue, _namespaces(stored))


def _write_spec(spec: dict[str, Any], change: ProjectChange) -> None:
    if change.parent is None:
        spec.pop("parent", None)
    else:
        spec["parent"] = change.parent
    spec["weight"] = change.weight
    for key, gpus in (("quota", change.quota_gpus), ("borrowingLimit", change.borrowing_gpus)):
        amounts = dict(spec.get(key) or {})
        amounts.pop(GPU, None)
        if gpus is not None:
            amounts[GPU] = f"{round(gpus * MILLI)}m"
        if amounts or (key == "quota"):
            spec[key] = amounts
        else:
            spec.pop(key, None)
    if change.members:
        spec["namespaceSelector"] = {"matchExpressions": [
            {"key": NAMESPACE_LABEL, "operator": "In", "values": sorted(set(change.members))}]}
    else:  # no members: no namespace may use it (an empty In list is refused by the reader)
        spec.pop("namespaceSelector", None)


def _check(obj: dict[str, Any]) -> None:
    try:
        queue_from_api(obj)
    except InvalidSpec as exc:
        raise ConfigError(str(exc)) from None


def _namespaces(obj: dict[str, Any]) -> list[str]:
    """The namespaces a Queue's selector names by their name label (others match by other
    labels, which the dashboard does not resolve)."""
    selector = (obj.get("spec") or {}).get("namespaceSelector") or {}
    found = set()
    if NAMESPACE_LABEL in (selector.get("matchLabels") or {}):
        found.add(selector["matchLabels"][NAMESPACE_LABEL])
    for expression in selector.get("matchExpressions") or []:
        if expression.get("key") == NAMESPACE_LABEL and expression.get("operator") == "In":
            found.update(expression.get("values") or [])
    return sorted(found)
