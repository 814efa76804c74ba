"""The commands: history export writes a trace simulate reads; bad input is one clear line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from corral.cli.main import app
from corral.history import HistoryStore


def test_history_export_writes_a_trace_that_simulate_replays(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryStore(db) as store:
        store.add_attempts([{
            "source": "kubernetes", "job_id": f"ml/train-{i}", "attempt": 1, "user": "ada",
            "name": f"train-{i}", "queue": "team-a", "tasks": 2, "gpu_milli": 1000,
            "gpu_type": "A100", "submit": 100.0 + i, "start": 110.0 + i, "end": 400.0 + i,
            "outcome": "completed", "gpu_util": None, "gpu_mem_peak_mib": None}
            for i in range(3)])
    out = tmp_path / "live.csv"
    runner = CliRunner()
    exported = runner.invoke(app, ["history", "export", "--format", "trace", "--out", str(out),
                                   "--db", db])
    assert exported.exit_code == 0, exported.output
    simulated = runner.invoke(app, ["simulate", str(out), "--cluster", "2x8", "--json"])
    assert simulated.exit_code == 0, simulated.output
    summary = json.loads(simulated.output)
    assert (summary["jobs"], summary["avg_jct"]) == (3, 290.0)


def test_unknown_export_format_and_bad_policy_fail_cleanly(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["history", "export", "--format", "parquet",
                                 "--db", f"sqlite:///{tmp_path / 'h.db'}"])
    assert result.exit_code == 2 and "only export format is trace" in result.output
    result = runner.invoke(app, ["scheduler", "--policy", "no-such-policy",
                                 "--history-db", "none"])
    assert result.exit_code == 2 and "unknown policy" in result.output


def test_live_scheduler_refuses_oracle_policies_and_predictions_without_history() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["scheduler", "--policy", "srtf-oracle", "--history-db", "none"])
    assert result.exit_code == 2 and "true job durations" in result.output
    result = runner.invoke(app, ["scheduler", "--policy", "predicted-sjf",
                                 "--history-db", "none"])
    assert result.exit_code == 2 and "--history-db" in result.output
