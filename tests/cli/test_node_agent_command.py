"""``corral node-agent`` outside a cluster: one error line, exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from corral.cli.main import app

RECORDING = Path(__file__).parents[1] / "agent" / "data" / "two_gpu_node.json"


def test_outside_a_cluster_it_says_so(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    result = CliRunner().invoke(app, ["node-agent", "--node", "n", "--replay", str(RECORDING)])
    assert result.exit_code == 2
    assert "not running in a Kubernetes pod" in result.output


def test_a_bad_recording_is_named(tmp_path):
    bad = tmp_path / "readings.json"
    bad.write_text('{"gpus": []}')
    result = CliRunner().invoke(app, ["node-agent", "--node", "n", "--replay", str(bad)])
    assert result.exit_code == 2
    assert "NVML recording: malformed" in result.output
