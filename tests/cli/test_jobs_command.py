"""``corral jobs`` offline: stored attempts, filters, every -o form; a missing --db is an error."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corral.cli.jobs import age_text
from corral.cli.main import app
from corral.history import HistoryStore

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryStore(url) as store:
        store.add_attempts([{
            "source": "kubernetes", "job_id": f"{ns}/train-{i}", "attempt": 1, "user": user,
            "name": f"train-{i}", "queue": queue, "tasks": 2, "gpu_milli": 1000,
            "gpu_type": "A100", "submit": 100.0 * i, "start": 100.0 * i + 5,
            "end": 100.0 * i + 4000, "outcome": outcome, "gpu_util": None,
            "gpu_mem_peak_mib": None}
            for i, (ns, user, queue, outcome) in enumerate([
                ("ml", "ada", "team-a", "completed"), ("ml", "bob", "team-b", "failed"),
                ("cv", "ada", "team-a", "completed")])])
    return url


def _jobs(*args: str) -> list[dict[str, str]]:
    result = runner.invoke(app, ["jobs", *args, "-o", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_filters_narrow_the_stored_jobs(db: str) -> None:
    assert [r["job"] for r in _jobs("--db", db)] == ["ml/train-0", "ml/train-1", "cv/train-2"]
    assert [r["job"] for r in _jobs("--db", db, "-n", "ml")] == ["ml/train-0", "ml/train-1"]
    assert [r["job"] for r in _jobs("--db", db, "-u", "ada", "-q", "team-a")] == [
        "ml/train-0", "cv/train-2"]
    assert [r["job"] for r in _jobs("--db", db, "-t", "FAILED")] == ["ml/train-1"]


def test_table_json_and_wide_carry_the_same_jobs(db: str) -> None:
    table = runner.invoke(app, ["jobs", "--db", db]).stdout
    assert table.split()[:8] == ["JOB", "STATE", "REASON", "AGE", "USER", "QUEUE", "GPUS",
                                 "NODE"]
    assert "ml/train-1  failed" in table and "1h6m" in table
    rows = json.loads(runner.invoke(app, ["jobs", "--db", db, "-o", "json"]).stdout)
    assert (rows[0]["job"], rows[0]["gpus"], rows[0]["age_s"]) == ("ml/train-0", 2.0, 4000.0)
    assert "SUBMITTED" in runner.invoke(app, ["jobs", "--db", db, "-o", "wide"]).stdout


def test_a_mistyped_db_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "hsitory.db"
    for args in (["jobs", "--db"], ["history", "stats", "--db"], ["history", "export", "--db"]):
        result = runner.invoke(app, [*args, f"sqlite:///{missing}"])
        assert result.exit_code == 2 and "no history database" in result.stderr, args
    assert not missing.exists()


def test_ages_read_like_kubectl() -> None:
    assert [age_text(s) for s in (5, 420, 3 * 3600 + 720, 5 * 86400 + 4 * 3600)] == [
        "5s", "7m", "3h12m", "5d4h"]


def test_watch_prints_until_interrupted(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("corral.cli.jobs.time.sleep", nap)
    result = runner.invoke(app, ["jobs", "--db", db, "-w", "--interval", "5", "-t", "failed"])
    assert result.exit_code == 0
    assert result.stdout.count("ml/train-1") == 2 and naps == [5, 5]


def test_tenant_text_is_printed_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from corral.cli import jobs
    from corral.job_rows import JobRow

    row = JobRow("ml/[bold]x[/bold]", "pending", "quota [red]full[/red]", 5, "ml", "q", 1, "")
    printed = io.StringIO()
    monkeypatch.setattr("sys.stdout", printed)
    jobs._print([row], jobs.Output.TABLE)
    assert "ml/[bold]x[/bold]" in printed.getvalue()
    assert "quota [red]full[/red]" in printed.getvalue()
