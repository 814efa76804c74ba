"""``corral queues`` on a TOML file and on Queue resources; ``cancel``/``hold``/``resume``
against an emulated API server reached through a kubeconfig, as a user's shell reaches one."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corral.cli.main import app
from corral.k8s.queue_crd import queue_from_api
from corral.k8s.testing.emulator import CORE_TYPES, Emulator, ResourceType
from corral.model import CPU, GPU
from corral.queues import load_queue_file

runner = CliRunner()
JOBS = ResourceType("batch", "v1", "jobs", "Job", True)


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_queue_file_create_set_quota_and_list(tmp_path: Path) -> None:
    path = tmp_path / "queues.toml"
    path.write_text('# the lab\n[[queues]]\nname = "lab"\nquota = { gpu = 16, cpu = 64 }\n')
    invoke("queues", "create", "team-a", "--gpus", "8", "--parent", "lab", "-f", str(path))
    invoke("queues", "set-quota", "team-a", "--gpus", "4", "--borrowing-limit", "2",
           "-f", str(path))
    tree = load_queue_file(path)  # the file the simulator and the scheduler read
    assert tree.queues["team-a"].parent == "lab"
    assert tree.queues["team-a"].quota[GPU] == 4000
    assert tree.queues["team-a"].borrowing_limit == {GPU: 2000}
    assert tree.queues["lab"].quota[CPU] == 64000  # untouched
    assert path.read_text().startswith("# the lab\n")
    rows = list(csv.DictReader(io.StringIO(invoke("queues", "list", "-f", str(path),
                                                  "-o", "csv"))))
    assert [(r["queue"], r["quota_gpus"]) for r in rows] == [("lab", "16.0"), ("team-a", "4.0")]


def test_a_refused_edit_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "queues.toml"
    path.write_text('[[queues]]\nname = "lab"\nquota = { gpu = 16 }\n')
    before = path.read_text()
    for args in (["create", "team-b", "--gpus", "32", "--parent", "lab"],  # over its parent
                 ["create", "lab", "--gpus", "1"],  # exists
                 ["set-quota", "nobody", "--gpus", "1"]):
        result = runner.invoke(app, ["queues", *args, "-f", str(path)])
        assert result.exit_code == 2 and result.stderr.startswith("error: "), args
        assert str(path) in result.stderr
    assert path.read_text() == before
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on its own thread and loop, and $KUBECONFIG naming it."""
    emulator = Emulator((*CORE_TYPES, JOBS))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    url = asyncio.run_coroutine_threadsafe(emulator.start(), loop).result(10)
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: emu\n"
        f"clusters: [{{name: emu, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: me, user: {}}]\n"
        "contexts: [{name: emu, context: {cluster: emu, user: me}}]\n")
    monkeypatch.setenv("KUBECONFIG", str(config))
    yield emulator
    asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_live_queues_are_created_and_changed(cluster: Emulator) -> None:
    invoke("queues", "create", "team-a", "--gpus", "8", "-n", "ml", "-n", "cv")
    invoke("queues", "set-quota", "team-a", "--gpus", "12")
    stored = queue_from_api(cluster.get("queues", "team-a", group="corral.dev",
                                        version="v1alpha1"))
    assert stored.queue.quota == {GPU: 12_000}  # what the scheduler reads
    assert stored.refuses("ml", {"kubernetes.io/metadata.name": "ml"}) == ""
    assert stored.refuses("web", {"kubernetes.io/metadata.name": "web"}) != ""
    rows = list(csv.DictReader(io.StringIO(invoke("queues", "list", "-o", "csv"))))
    assert [(r["queue"], r["quota_gpus"], r["namespaces"]) for r in rows] == [
        ("team-a", "12.0", "cv,ml")]
    again = runner.invoke(app, ["queues", "create", "team-a", "--gpus", "1"])
    assert again.exit_code == 2 and "exists already" in again.stderr
    bad = runner.invoke(app, ["queues", "create", "Bad_Name", "--gpus", "1"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: name")


def test_hold_resume_and_cancel(cluster: Emulator) -> None:
    cluster.create({"apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"name": "train", "namespace": "ml"}, "spec": {}}, "jobs")
    cluster.create({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "lone", "namespace": "ml"}, "spec": {}}, "pods")
    invoke("hold", "train", "-n", "ml")
    assert cluster.get("jobs", "train", "ml", group="batch")["spec"]["suspend"] is True
    invoke("resume", "train", "-n", "ml")
    assert cluster.get("jobs", "train", "ml", group="batch")["spec"]["suspend"] is False
    refused = runner.invoke(app, ["hold", "lone", "-n", "ml"])
    assert refused.exit_code == 2 and "bare pod" in refused.stderr
    assert "job ml/train cancelled" in invoke("cancel", "train", "lone", "-n", "ml")
    assert cluster.get("jobs", "train", "ml", group="batch") is None
    assert cluster.get("pods", "lone", "ml") is None
    missing = runner.invoke(app, ["cancel", "ghost", "-n", "ml"])
    assert missing.exit_code == 2 and "no Job or pod named ghost" in missing.stderr
