"""``corral pack``: FGD's packing experiment end to end on a tiny openb-format trace."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corral.cli.main import app
from corral.sim.packing import PACK_COLUMNS, pack

runner = CliRunner()

HEADER = ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
          "deletion_time,scheduled_time")
# Shares, whole GPUs and a CPU-only pod; 7.1 GPUs in all on a 2x4 cluster (8 GPUs).
PODS = [(1, 300), (1, 300), (1, 700), (1, 1000), (2, 1000), (1, 500), (0, 0), (1, 500),
        (1, 300), (1, 1000), (1, 1000), (1, 500)]


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    lines = [HEADER] + [
        f"pod-{i:02d},2000,4096,{gpus},{milli},,LS,Running,{i},{i + 100},{i}"
        for i, (gpus, milli) in enumerate(PODS)]
    path = tmp_path / "pods.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["pack", *args])
    return result.exit_code, result.stdout, result.stderr


def test_pack_writes_csv_and_plot(trace: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = invoke(str(trace), "--cluster", "2x4", "--policies",
                                  "fgd,greedy,fifo-spread", "--until", "1.5", "--out", str(out))
    assert code == 0, stderr
    assert "fgd" in stdout and "greedy" in stdout and "fifo-spread" in stdout
    assert "wrote pack.csv, pack.png" in stdout
    with (out / "pack.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == PACK_COLUMNS
    assert {row["policy"] for row in rows} == {"fgd", "greedy", "fifo-spread"}
    for row in rows:
        assert 0 <= float(row["frag_pct"]) <= 100 - float(row["allocated_pct"]) + 1e-9
        assert float(row["allocated_pct"]) <= float(row["arrived_pct"]) + 1e-9
    assert (out / "pack.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_runs_stop_at_the_first_failure_by_default(trace: Path) -> None:
    """Tasks keep arriving (the trace again, ids with #2, once it runs out) until one fails."""
    for run in pack(trace, ["fgd", "greedy"], "2x4"):
        rows = run.arrivals
        assert rows["failed"].tolist() == [False] * (len(rows) - 1) + [True]
        assert rows["allocated_pct"].iloc[-1] <= 100
        assert run.never_fit == 0
    (run,) = pack(trace, ["greedy"], "3x4")  # 12 GPUs: the first pass fits whole
    assert run.arrivals["job_id"].iloc[-1].endswith("#2")


def test_until_goes_past_failures_to_the_arrived_load(trace: Path) -> None:
    (run,) = pack(trace, ["greedy"], "2x4", until=2.0)
    rows = run.arrivals
    assert rows["arrived_pct"].iloc[-1] >= 200 > rows["arrived_pct"].iloc[-2]
    assert rows["failed"].sum() > 1


@pytest.mark.parametrize(("args", "message"), [
    (["--policies", "fgd,nonesuch"], "unknown policy 'nonesuch'"),
    (["--policies", "fgd,fgd"], "given twice"),
    (["--policies", "priority-preempt"], "preempts"),
    (["--until", "0"], "until must be"),
    (["--until", "-1"], "until must be"),
    (["--until", "11"], "until must be"),
])
def test_bad_input_is_one_error_line(trace: Path, args: list[str], message: str) -> None:
    code, _, stderr = invoke(str(trace), "--cluster", "2x4", *args)
    assert code == 2
    assert stderr.startswith("error:") and message in stderr
    assert len(stderr.strip().splitlines()) == 1
