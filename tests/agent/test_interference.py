"""The interference table's format and its checks (the measurements themselves need a GPU)."""

from __future__ import annotations

import re
import tomllib

import pytest

from corral.agent.interference import pair_row, profile_interference, write_table
from corral.agent.mps import MpsDaemons
from corral.measured import read_interference_table
from corral.model import ConfigError
from corral.sim.config import load_sim_config


def test_the_table_summarises_into_a_sim_config_the_simulator_reads(tmp_path):
    rows = [pair_row("gemm", "copy", 0.5, alone=10.0, paired=8.0, workload_util=0.5,
                     partner_util=0.3),
            pair_row("copy", "gemm", 0.5, alone=4.0, paired=4.0)]
    write_table(rows, tmp_path, "NVIDIA H200", "580.65.06")
    table = read_interference_table(tmp_path / "interference.csv")
    assert [(r.workload, r.partner, r.slowdown) for r in table.rows] == \
        [("gemm", "copy", 1.25), ("copy", "gemm", 1.0)]
    assert table.measured and table.meta["gpu"] == "NVIDIA H200"
    assert table.rows[0].summed_util == 0.8 and table.rows[1].summed_util is None
    text = (tmp_path / "sim-config.toml").read_text()
    assert "NVIDIA H200, driver 580.65.06" in text
    assert tomllib.loads(text) == {"share_slowdown": 0.125}
    assert load_sim_config(tmp_path / "sim-config.toml").share_slowdown == 0.125


@pytest.mark.parametrize(("workloads", "shares", "message"), [
    (["gemm", "mining"], [0.5], "unknown workload"),
    (["gemm"], [0.75], "must be in (0, 0.5]"),
])
def test_bad_requests_are_refused_before_any_gpu_work(tmp_path, workloads, shares, message):
    mps = MpsDaemons(tmp_path, {0: "GPU-x"}, str(tmp_path / "never-started"))
    with pytest.raises(ConfigError, match=re.escape(message)):
        profile_interference(mps, 0, "GPU-x", 1000, workloads, shares, 1.0)


def test_a_workload_alone_reports_its_throughput_and_the_utilisation_sampled_meanwhile(
        tmp_path, monkeypatch):
    import subprocess
    import sys

    from corral.agent import interference
    from corral.agent.shares import GpuShare

    def fake_client(mps, gpu_uuid, client):  # a CPU stand-in for the PyTorch workload
        code = "import time; time.sleep(1.0); print('corral-throughput: 12.5', flush=True)"
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    monkeypatch.setattr(interference, "start_client", fake_client)
    monkeypatch.setattr(interference, "SAMPLE_EVERY_S", 0.05)
    mps = MpsDaemons(tmp_path, {0: "GPU-x"}, str(tmp_path / "never-started"))
    client = interference.Client("gemm", GpuShare(0, 500, 1000), seconds=30.0)
    throughput, util = interference.run_alone(mps, "GPU-x", client, lambda: 0.42)
    assert throughput == 12.5 and util == pytest.approx(0.42)
    assert interference.run_alone(mps, "GPU-x", client, lambda: None) == (12.5, None)
