"""Who is asking, and which projects they may see: local tokens offline, the API server live.

Offline, a token file lists users, the SHA-256 of each one's token (the file never holds the
tokens themselves) and whether they are admins; a user sees the projects whose ``members``
name them. Live, the bearer token is checked with a TokenReview and every question with a
SubjectAccessReview (:class:`~corral.k8s.secure_serving.DelegatedAuth`), so namespace RBAC
decides: a user sees a project when they may list pods in one of its namespaces, and is an
admin when they may update Queue resources. Either way admins see every project.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Protocol

from corral.dashboard.api_models import Project
from corral.k8s import conventions as names
from corral.k8s.secure_serving import DelegatedAuth, User
from corral.toml_fields import open_toml

USER_KEYS = ("name", "token_sha256", "admin")


@dataclass(frozen=True, slots=True)
class Viewer:
    """An authenticated user of the dashboard."""

    name: str
    admin: bool
    identity: User | None = None
    """What the API server said of them (live only)."""


class Access(Protocol):
    async def viewer(self, token: str) -> Viewer | None:
        """The user *token* belongs to, or None if it is not accepted."""

    async def sees(self, viewer: Viewer, project: Project) -> bool:
        """Whether *viewer* may see *project*'s jobs and usage."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenFile:
    """Offline access from a TOML file of ``[[users]]`` with ``name``, ``token_sha256`` (hex)
    and ``admin`` (default false)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        data, fields = open_toml(path, "token file", ("users",))
        users = data.get("users")
        if not isinstance(users, list) or not users:
            raise fields.fail("users", "missing or empty; add at least one [[users]] table")
        self._users: dict[str, Viewer] = {}
        for i, table in enumerate(users):
            where = f"users[{i}]"
            if not isinstance(table, dict):
                raise fields.fail(where, f"must be a table, got {table!r}")
            fields.check_keys(table, USER_KEYS, f"{where}.")
            name = fields.string(table, "name", f"{where}.name", default="")
            digest = fields.string(table, "token_sha256", f"{where}.token_sha256", default="")
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
                raise fields.fail(f"{where}.token_sha256", "must be 64 hex digits (the SHA-256 "
                                  "of the token)")
            admin = table.get("admin", False)
            if not isinstance(admin, bool):
                raise fields.fail(f"{where}.admin", f"must be true or false, got {admin!r}")
            if digest.lower() in self._users:
                raise fields.fail(f"{where}.token_sha256", "the same token is given twice")
            self._users[digest.lower()] = Viewer(name, admin)

    async def viewer(self, token: str) -> Viewer | None:
        digest = token_digest(token)
        for known, viewer in self._users.items():
            if hmac.compare_digest(known, digest):
                return viewer
        return None

    async def sees(self, viewer: Viewer, project: Project) -> bool:
        return viewer.admin or viewer.name in project.members


class ClusterAccess:
    """Live access: TokenReview for who, SubjectAccessReview for what."""

    def __init__(self, auth: DelegatedAuth) -> None:
        self.auth = auth

    async def viewer(self, token: str) -> Viewer | None:
        user = await self.auth.authenticate(token)
        if user is None:
            return None
        group, _, plural = names.QUEUE_API
        admin = await self.auth.allowed(user, {"resourceAttributes": {
            "verb": "update", "group": group, "resource": plural}})
        return Viewer(user.name, admin, user)

    async def sees(self, viewer: Viewer, project: Project) -> bool:
        if viewer.admin:
            return True
        if viewer.identity is None:
            return False
        for namespace in project.members:
            if await self.auth.allowed(viewer.identity, {"resourceAttributes": {
                    "verb": "list", "resource": "pods", "namespace": namespace}}):
                return True
        return False
