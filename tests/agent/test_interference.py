"""The interference table's format and its checks (the measurements themselves need a GPU)."""

from __future__ import annotations

import csv
import re
import tomllib

import pytest

from corral.agent.interference import PairRow, profile_interference, write_table
from corral.agent.mps import MpsDaemons
from corral.model import ConfigError
from corral.sim.config import load_sim_config


def test_the_table_summarises_into_a_sim_config_the_simulator_reads(tmp_path):
    rows = [PairRow("gemm", "copy", 0.5, alone=10.0, paired=8.0),
            PairRow("copy", "gemm", 0.5, alone=4.0, paired=4.0)]
    write_table(rows, tmp_path, "NVIDIA H200", "580.65.06")
    with (tmp_path / "interference.csv").open() as f:
        table = list(csv.DictReader(f))
    assert [(r["workload"], r["partner"], r["slowdown"]) for r in table] == \
        [("gemm", "copy", "1.250"), ("copy", "gemm", "1.000")]
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
