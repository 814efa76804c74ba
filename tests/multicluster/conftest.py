"""Two small ITP-format clusters: ``busy`` gets a burst of long jobs, ``idle`` a trickle."""

from __future__ import annotations

from pathlib import Path

import pytest

HEADER = "job_id,submission_time,duration,num_gpu\n"


def write_trace(path: Path, rows: list[tuple[str, int, int, int]]) -> Path:
    path.write_text(HEADER + "".join(f"{j},{s},{d},{g}\n" for j, s, d, g in rows))
    return path


@pytest.fixture
def clusters_toml(tmp_path: Path) -> Path:
    busy = [(f"b{i}", 100 + 10 * i, 7200, 4) for i in range(12)]
    idle = [(f"i{i}", 150 + 900 * i, 600, 1) for i in range(6)]
    write_trace(tmp_path / "busy.csv", busy)
    write_trace(tmp_path / "idle.csv", idle)
    path = tmp_path / "clusters.toml"
    path.write_text("""
[dispatch]
policy = "home"
delay_s = 30
transfer_gbit_s = 8
dataset_gb = 100

[[cluster]]
name = "busy"
trace = "busy.csv"
nodes = "1x8"
policy = "fifo"
gpu_cost = 2.0

[[cluster]]
name = "idle"
trace = "idle.csv"
nodes = "2x8"
policy = "fifo"
gpu_cost = 1.0
""")
    return path
