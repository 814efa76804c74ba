"""A user sees only their projects' jobs and usage: offline by membership in the queue file,
live by namespace RBAC as the API server answers SubjectAccessReviews."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from dashboard_files import Dashboard, make_sources
from fastapi.testclient import TestClient

from corral.dashboard.access import ClusterAccess
from corral.dashboard.app import create_app
from corral.dashboard.projects import ProjectObjects
from corral.k8s.client import ApiError
from corral.k8s.secure_serving import DelegatedAuth

QUEUES = [{"apiVersion": "corral.dev/v1alpha1", "kind": "Queue", "metadata": {"name": name},
           "spec": {"quota": {"nvidia.com/gpu": 4}, "namespaceSelector": {"matchLabels": {
               "kubernetes.io/metadata.name": f"ns-{name}"}}}} for name in ("vision", "speech")]
USERS = {"alice-token": "alice", "bob-token": "bob", "admin-token": "root"}
MAY_LIST_PODS = {("alice", "ns-vision"), ("bob", "ns-speech")}


class FakeApiServer:
    """Answers TokenReviews, SubjectAccessReviews (RBAC: MAY_LIST_PODS, root may update
    Queues) and Queue listings, as a KubeClient would relay them."""

    def __init__(self) -> None:
        self.reviews: list[Mapping[str, Any]] = []

    async def request(self, method: str, path: str, *, body: Any = None,
                      **_: Any) -> dict[str, Any]:
        if path.endswith("/tokenreviews"):
            user = USERS.get(body["spec"]["token"])
            return {"status": {"authenticated": user is not None,
                               **({"user": {"username": user}} if user else {})}}
        if path.endswith("/subjectaccessreviews"):
            spec = body["spec"]
            self.reviews.append(spec)
            what = spec.get("resourceAttributes") or {}
            allowed = ((spec["user"], what.get("namespace")) in MAY_LIST_PODS \
                and what.get("verb") == "list" and what.get("resource") == "pods") \
                or spec["user"] == "root"
            return {"status": {"allowed": allowed}}
        if method == "GET" and path == "/apis/corral.dev/v1alpha1/queues":
            return {"items": QUEUES}
        raise ApiError(404, "NotFound", path)


@pytest.fixture(params=["offline", "live"])
def deployment(request: pytest.FixtureRequest, tmp_path: Any) -> Dashboard:
    sources = make_sources(tmp_path)
    if request.param == "live":
        server = FakeApiServer()
        sources.mode = "live"
        sources.access = ClusterAccess(DelegatedAuth(server))  # type: ignore[arg-type]
        sources.projects = ProjectObjects(server)  # type: ignore[arg-type]
    return Dashboard(TestClient(create_app(sources)), tmp_path, sources)


def test_a_user_sees_only_their_projects_jobs(deployment: Dashboard) -> None:
    jobs = deployment.get("alice", "/api/jobs?limit=500")
    assert jobs["total"] == 13 and {j["project"] for j in jobs["jobs"]} == {"vision"}
    for state in ("pending", "running", "completed"):
        page = deployment.get("bob", f"/api/jobs?state={state}&limit=500")
        assert {j["project"] for j in page["jobs"]} <= {"speech"}
    assert deployment.get("bob", "/api/jobs?user=alice")["total"] == 0


def test_a_user_cannot_ask_for_another_projects_jobs_or_usage(deployment: Dashboard) -> None:
    for path in ("/api/jobs?project=speech", "/api/usage?project=speech"):
        answer = deployment.client.get(path, headers=deployment.auth("alice"))
        assert answer.status_code == 403
        assert "may not see project speech" in answer.json()["detail"]


def test_projects_and_usage_are_cut_to_the_users_projects(deployment: Dashboard) -> None:
    assert [p["name"] for p in deployment.get("alice", "/api/projects")] == ["vision"]
    usage = deployment.get("alice", "/api/usage")
    assert [s["key"] for s in usage["projects"]] == ["vision"]
    assert [(u["project"], u["user"]) for u in usage["users"]] == [("vision", "alice")]


def test_admins_see_every_project(deployment: Dashboard) -> None:
    assert deployment.get("admin", "/api/jobs?limit=1")["total"] == 26
    assert {p["name"] for p in deployment.get("admin", "/api/projects")} == {"vision", "speech"}
