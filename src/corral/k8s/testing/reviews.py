"""The API server's TokenReview and SubjectAccessReview, as the emulator answers them.

Enough of authentication and RBAC for a component that delegates both to the API server (the
dashboard, the scheduler's secure ``/metrics``): tokens name users, and a user may do what a
:class:`Grant` allows. Groups, non-resource URLs and aggregated roles are not emulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
REVIEW_PATHS = frozenset((TOKEN_REVIEWS, ACCESS_REVIEWS))
ANY = "*"


@dataclass(frozen=True, slots=True)
class Grant:
    """One RBAC rule bound to one user: *verb* on *resource* of *group*, in *namespace*
    (``*`` for any; a cluster-wide grant is ``namespace="*"``)."""

    user: str
    verb: str
    resource: str
    group: str = ""
    namespace: str = ANY

    def allows(self, user: str, what: dict[str, Any]) -> bool:
        wanted = (what.get("verb", ""), what.get("resource", ""), what.get("group", ""),
                  what.get("namespace", ""))
        mine = (self.verb, self.resource, self.group, self.namespace)
        return user == self.user and all(rule in (ANY, asked)
                                         for rule, asked in zip(mine, wanted, strict=True))


@dataclass
class Reviews:
    """Tokens and grants; tests fill them in."""

    tokens: dict[str, str] = field(default_factory=dict)
    """Bearer token -> the user name a TokenReview answers."""
    grants: list[Grant] = field(default_factory=list)

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The answer to the review *body* posted to *path* (one of :data:`REVIEW_PATHS`)."""
        spec = body.get("spec") or {}
        if path == TOKEN_REVIEWS:
            user = self.tokens.get(str(spec.get("token", "")))
            status: dict[str, Any] = {"authenticated": user is not None}
            if user is not None:
                status["user"] = {"username": user, "groups": ["system:authenticated"]}
            return {**body, "status": status}
        what = spec.get("resourceAttributes")
        allowed = isinstance(what, dict) and any(
            grant.allows(str(spec.get("user", "")), what) for grant in self.grants)
        return {**body, "status": {"allowed": allowed}}
