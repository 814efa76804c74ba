"""The dashboard live on the API emulator: an admin creates a project through it, the live
scheduler enforces its quota (pods over it wait, saying why in the jobs view), and a member's
token, checked by TokenReview and SubjectAccessReview, sees only their project."""

from __future__ import annotations

from pathlib import Path

import httpx
import jsonschema
import yaml
from live_setup import auth, live_dashboard, project

from corral.k8s.queue_crd import queue_from_api
from k8s.k8s_builders import bound_to, pod, run, until

REPO = Path(__file__).resolve().parents[2]


def _queue_schema() -> dict[str, object]:
    for document in yaml.safe_load_all((REPO / "deploy/scheduler/crds.yaml").read_text()):
        if document and document["metadata"]["name"] == "queues.corral.dev":
            return document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    raise AssertionError("deploy/scheduler/crds.yaml has no Queue CRD")


def test_a_project_created_in_the_dashboard_is_enforced_and_seen_only_by_members(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_dashboard(tmp_path) as live:
            emu = live.emulator
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=live.app),
                                         base_url="http://dashboard") as web:
                for name, gpus, namespace in (("vision", 2, "ns-vision"),
                                              ("speech", 1, "ns-speech")):
                    made = await web.post("/api/projects", headers=auth("admin"),
                                          json=project(name, gpus, namespace))
                    assert made.status_code == 201, made.text
                refused = await web.post("/api/projects", headers=auth("alice"),
                                         json=project("mine", 8, "ns-vision"))
                assert refused.status_code == 403

                written = emu.get("queues", "vision", group="corral.dev", version="v1alpha1")
                assert "matchExpressions" in written["spec"]["namespaceSelector"]
                jsonschema.Draft4Validator(_queue_schema()).validate(written)  # OpenAPI 3.0
                assert queue_from_api(written).queue.name == "vision"

                for i in range(3):
                    emu.create(pod(f"train-{i}", 1, namespace="ns-vision", queue="vision"))
                emu.create(pod("asr", 1, namespace="ns-speech", queue="speech"))
                await until(lambda: len(bound_to(emu)) == 3)
                await live.scheduler.settle()
                bound = bound_to(emu)
                assert "ns-speech/asr" in bound
                assert sum(key.startswith("ns-vision/") for key in bound) == 2  # the quota

                async def waiting() -> list[dict[str, object]]:
                    page = (await web.get("/api/jobs?state=pending",
                                          headers=auth("admin"))).json()
                    return [job for job in page["jobs"] if job["reason"]]
                for _ in range(100):
                    if await waiting():
                        break
                    await live.scheduler.settle()
                [pending] = await waiting()
                assert pending["project"] == "vision"
                assert "queue vision may hold at most 2" in str(pending["reason"])

                alice = await web.get("/api/jobs", headers=auth("alice"))
                assert {job["project"] for job in alice.json()["jobs"]} == {"vision"}
                assert alice.json()["total"] == 3
                mine = await web.get("/api/projects", headers=auth("alice"))
                assert [p["name"] for p in mine.json()] == ["vision"]
                other = await web.get("/api/jobs?project=speech", headers=auth("alice"))
                assert other.status_code == 403
                bob = (await web.get("/api/jobs", headers=auth("bob"))).json()
                assert [job["project"] for job in bob["jobs"]] == ["speech"]
                stranger = await web.get("/api/me", headers={"Authorization": "Bearer nope"})
                assert stranger.status_code == 401
    run(scenario)
