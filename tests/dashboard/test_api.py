"""The dashboard API through the framework's test client, on real files and a real history."""

from __future__ import annotations

import tomllib

import pytest
from dashboard_files import Dashboard

from corral.queues import load_queue_file


def test_every_call_needs_an_accepted_token(dashboard: Dashboard) -> None:
    assert dashboard.client.get("/api/projects").status_code == 401
    answer = dashboard.client.get("/api/projects", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json()["detail"] == "the token was not accepted"


def test_projects_show_quota_borrowing_and_members(dashboard: Dashboard) -> None:
    projects = {p["name"]: p for p in dashboard.get("admin", "/api/projects")}
    assert projects["speech"] == {"name": "speech", "parent": None, "weight": 1.0,
                                  "quota_gpus": 4.0, "borrowing_gpus": 2.0,
                                  "members": ["bob"]}
    assert projects["vision"]["borrowing_gpus"] is None


def test_an_admin_creates_and_changes_a_project_written_to_the_queue_file(
        dashboard: Dashboard) -> None:
    body = {"name": "nlp", "quota_gpus": 2.5, "borrowing_gpus": 1, "members": ["alice"]}
    created = dashboard.client.post("/api/projects", json=body, headers=dashboard.auth("admin"))
    assert created.status_code == 201, created.text
    changed = dashboard.client.put("/api/projects/vision", headers=dashboard.auth("admin"),
                                   json={"name": "vision", "quota_gpus": 16, "weight": 2,
                                         "members": ["alice", "carol"]})
    assert changed.status_code == 200, changed.text
    path = dashboard.folder / "queues.toml"
    tree = load_queue_file(path)  # what the scheduler reads
    assert tree.queues["nlp"].quota == {"nvidia.com/gpu": 2500}
    assert tree.queues["vision"].quota == {"nvidia.com/gpu": 16000, "cpu": 64000}
    assert tree.queues["vision"].weight == 2
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# projects of the lab")  # comments kept
    assert tomllib.loads(text)["queues"][0]["members"] == ["alice", "carol"]
    audit = dashboard.get("admin", "/api/audit")
    assert [(e["user"], e["action"], e["target"]) for e in audit] == [
        ("admin", "create", "nlp"), ("admin", "update", "vision")]
    assert audit[1]["before"]["quota_gpus"] == 8 and audit[1]["after"]["quota_gpus"] == 16


@pytest.mark.parametrize(("method", "path"), [("post", "/api/projects"),
                                              ("put", "/api/projects/vision")],
                         ids=["create", "change"])
def test_only_admins_change_projects(dashboard: Dashboard, method: str, path: str) -> None:
    before = (dashboard.folder / "queues.toml").read_text(encoding="utf-8")
    answer = getattr(dashboard.client, method)(path, headers=dashboard.auth("alice"),
                                               json={"name": "vision", "quota_gpus": 999})
    assert answer.status_code == 403
    assert (dashboard.folder / "queues.toml").read_text(encoding="utf-8") == before
    assert dashboard.sources.audit.entries() == []


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"name": "vision"}, 409, "already exists"),
    ({"name": "Bad Name"}, 422, "pattern"),
    ({"name": "x", "quota_gpus": -1}, 422, "greater than or equal"),
    ({"name": "x", "parent": "nowhere"}, 400, "parent 'nowhere' is not defined"),
    ({"name": "x", "quota_gpus": 0.0001}, 400, "milli"),
], ids=["taken", "name", "negative", "unknown-parent", "below-a-milli-gpu"])
def test_bad_projects_are_refused_with_the_reason(dashboard: Dashboard, body: dict[str, object],
                                                  status: int, says: str) -> None:
    before = (dashboard.folder / "queues.toml").read_text(encoding="utf-8")
    answer = dashboard.client.post("/api/projects", json=body, headers=dashboard.auth("admin"))
    assert answer.status_code == status
    assert says in answer.text
    assert (dashboard.folder / "queues.toml").read_text(encoding="utf-8") == before


def test_usage_per_project_and_user_per_day_with_quota(dashboard: Dashboard) -> None:
    usage = dashboard.get("admin", "/api/usage")
    vision = next(s for s in usage["projects"] if s["key"] == "vision")
    # 6 attempts a day of 1 task x 2 GPUs x 2 hours
    assert vision == {"key": "vision", "quota_gpus": 8.0, "days": [0, 1],
                      "gpu_hours": [24.0, 24.0], "total_gpu_hours": 48.0, "attempts": 12}
    assert {(u["project"], u["user"], u["gpu_hours"]) for u in usage["users"]} == {
        ("vision", "alice", 48.0), ("speech", "bob", 48.0)}


def test_jobs_filter_by_state_user_and_project_with_reasons_and_placement(
        dashboard: Dashboard) -> None:
    everything = dashboard.get("admin", "/api/jobs?limit=500")
    assert everything["total"] == 2 + 24
    pending = dashboard.get("admin", "/api/jobs?state=pending")["jobs"]
    assert [j["id"] for j in pending] == ["speech-wait"]
    assert "0.5" in pending[0]["reason"]
    running = dashboard.get("admin", "/api/jobs?state=running")["jobs"]
    assert running[0]["nodes"] == ["node-a", "node-a"]
    finished = dashboard.get("admin", "/api/jobs?state=completed&user=alice&limit=5")
    assert finished["total"] == 12 and len(finished["jobs"]) == 5
    assert {j["user"] for j in finished["jobs"]} == {"alice"}
    ends = [j["end"] for j in finished["jobs"]]
    assert ends == sorted(ends, reverse=True)
    second = dashboard.get("admin", "/api/jobs?state=completed&user=alice&limit=5&offset=5")
    assert not {j["id"] for j in second["jobs"]} & {j["id"] for j in finished["jobs"]}
    profiled = dashboard.get("admin", "/api/jobs?project=vision&state=completed&limit=12")
    assert {j["gpu_util"] for j in profiled["jobs"]} == {0.5, None}


def test_nodes_show_each_gpus_allocation(dashboard: Dashboard) -> None:
    nodes = {n["name"]: n for n in dashboard.get("alice", "/api/nodes")}
    assert nodes["node-a"]["allocated"] == [1.0, 1.0, 0.0, 0.0]
    assert nodes["node-b"]["allocated"] == [0.0] * 4  # its job waits


def test_datasets_and_runs(dashboard: Dashboard) -> None:
    [dataset] = dashboard.get("alice", "/api/datasets")
    assert dataset["cached_share"] == 0.25 and dataset["hit_ratio"] == 0.25
    [run] = dashboard.get("alice", "/api/runs")
    assert run == {"path": "compare/fifo", "report": "compare/report.html",
                   "summary": {"policy": "fifo", "jobs": 10, "avg_jct": 120.5}}
    report = dashboard.client.get("/api/runs/report?path=compare/report.html",
                                  headers=dashboard.auth("alice"))
    assert report.text == "<h1>report</h1>"


@pytest.mark.parametrize("path", ["../tokens.toml", "../../etc/passwd", "/etc/hostname",
                                  "compare/fifo/summary.json", "\0", "report.html\0.html"])
def test_run_reports_are_only_html_files_inside_the_runs_folder(dashboard: Dashboard,
                                                                path: str) -> None:
    answer = dashboard.client.get("/api/runs/report", params={"path": path},
                                  headers=dashboard.auth("admin"))
    assert answer.status_code == 404


def test_pages_are_served_from_the_package(dashboard: Dashboard) -> None:
    page = dashboard.client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    script = dashboard.client.get("/static/app.js").text
    assert "http://" not in script.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in script and "https://" not in page.text
